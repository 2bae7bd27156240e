import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runFerry } from '../helpers/cli.ts';
import { fingerprint, replicaId, scratch, writeTree } from '../helpers/tree.ts';

interface StatusJson {
  root: string;
  replicaId?: string;
  lastSync?: number;
  peers: { id: string; label: string; lastSync: number }[];
  entries: number;
  conflicts: { path: string; madeBy: string; madeByLabel?: string }[];
  problems: { path: string; code: string; message: string }[];
}

async function statusJson(root: string): Promise<StatusJson> {
  const r = await runFerry(['status', '--json', root]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').length, 1, 'one JSON document');
  return JSON.parse(r.stdout) as StatusJson;
}

test('status shows the replica id, last sync and the peers by label', async (t) => {
  const d = scratch(t, 'status');
  const [A, B, C] = ['A', 'B', 'C'].map((n) => join(d, n)) as [string, string, string];
  writeTree(A, { 'a.txt': 'a', sub: { 'b.txt': 'b' }, link: { link: 'a.txt' } });
  const t0 = Date.now();
  const r = await runFerry(['sync', A, B, C]);
  const t1 = Date.now();
  assert.equal(r.code, 0, r.stderr);

  const st = await runFerry(['status', A]);
  assert.equal(st.code, 0, st.stderr);
  const lines = st.stdout.split('\n');
  assert.ok(
    lines.some((l) => l.startsWith('replica:') && l.includes(replicaId(A))),
    st.stdout,
  );
  assert.ok(
    lines.some((l) => l.startsWith('root:') && l.includes(A)),
    st.stdout,
  );
  const last = lines.find((l) => l.startsWith('last sync:'));
  assert.ok(last && !last.includes('never'), st.stdout);
  for (const peer of [B, C]) {
    const line = lines.find((l) => l.includes(replicaId(peer)));
    assert.ok(line?.includes(peer), `peer ${peer} listed with its label:\n${st.stdout}`);
  }
  assert.equal(
    lines.some((l) => l.includes(`  ${replicaId(A)} `)),
    false,
    'a root is not its own peer',
  );
  assert.match(st.stdout, /conflicts: none/);
  assert.match(st.stdout, /problems: {2}none/);

  const js = await statusJson(A);
  assert.deepEqual(Object.keys(js).sort(), [
    'conflicts',
    'entries',
    'lastSync',
    'peers',
    'problems',
    'replicaId',
    'root',
  ]);
  assert.equal(js.root, A);
  assert.equal(js.replicaId, replicaId(A));
  assert.equal(typeof js.lastSync, 'number');
  assert.ok(
    (js.lastSync ?? 0) >= t0 && (js.lastSync ?? 0) <= t1,
    `lastSync ${js.lastSync} in [${t0}, ${t1}]`,
  );
  assert.equal(js.entries, 4);
  assert.deepEqual(
    js.peers.map((p) => [p.id, p.label]).sort(),
    [
      [replicaId(B), B],
      [replicaId(C), C],
    ].sort(),
  );
  for (const p of js.peers) assert.equal(p.lastSync, js.lastSync);
  assert.deepEqual(js.conflicts, []);
  assert.deepEqual(js.problems, []);

  // A later run with another root adds it as a peer; older peers stay known.
  const D = join(d, 'D');
  const r2 = await runFerry(['sync', A, D]);
  assert.equal(r2.code, 0, r2.stderr);
  const js2 = await statusJson(A);
  assert.deepEqual(js2.peers.map((p) => p.label).sort(), [B, C, D].sort());
  assert.ok((js2.lastSync ?? 0) >= (js.lastSync ?? 0));
  const b = await statusJson(B);
  assert.deepEqual(b.peers.map((p) => p.label).sort(), [A, C].sort());
});

test('status is read-only, takes no lock, and reports problems', async (t) => {
  const d = scratch(t, 'status-ro');
  const [A, B] = ['A', 'B'].map((n) => join(d, n)) as [string, string];
  writeTree(A, { 'a.txt': 'a' });
  assert.equal((await runFerry(['sync', A, B])).code, 0);
  fs.writeFileSync(join(A, 'pending.txt'), 'not synced yet');
  fs.writeFileSync(join(A, 'a.txt'), 'changed');
  assert.equal(spawnSync('mkfifo', [join(A, 'pipe')]).status, 0);
  // Held by a live process: status must still answer without touching it.
  fs.writeFileSync(join(A, '.ferry', 'lock'), `${process.pid} ${hostname()}\n`);
  const before = fingerprint(A);
  const js = await statusJson(A);
  assert.deepEqual(
    js.problems.map((p) => [p.path, p.code]),
    [['pipe', 'special-file']],
  );
  const text = await runFerry(['status', A]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /pipe: .*\[special-file\]/);
  assert.deepEqual(fingerprint(A), before, 'status wrote nothing');
});

test('status of a folder that was never synced says so and creates nothing', async (t) => {
  const d = scratch(t, 'status-new');
  const N = join(d, 'N');
  writeTree(N, { 'x.txt': 'x' });
  const r = await runFerry(['status', N]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /not a ferry replica/);
  assert.match(r.stdout, /last sync: never/);
  const js = await statusJson(N);
  assert.equal(js.replicaId, undefined);
  assert.equal(js.lastSync, undefined);
  assert.deepEqual(js.peers, []);
  assert.equal(fs.existsSync(join(N, '.ferry')), false);
});

test('status escapes odd names in conflict copies and problems', async (t) => {
  const d = scratch(t, 'status-esc');
  const [A, B] = ['A', 'B'].map((n) => join(d, n)) as [string, string];
  const name = 'evil\x1b[2Jname\nFAKE.txt';
  writeTree(A, { [name]: 'base' });
  assert.equal((await runFerry(['sync', A, B])).code, 0);
  fs.writeFileSync(join(A, name), 'from A');
  fs.utimesSync(join(A, name), 1_600_000_000, 1_600_000_000);
  fs.writeFileSync(join(B, name), 'from B');
  fs.utimesSync(join(B, name), 1_700_000_000, 1_700_000_000);
  assert.equal((await runFerry(['sync', A, B])).code, 1);
  const r = await runFerry(['status', A]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.includes('\x1b'), false);
  assert.equal(
    r.stdout.split('\n').some((l) => l.startsWith('FAKE')),
    false,
  );
  assert.ok(r.stdout.includes('evil\\x1b[2Jname\\x0aFAKE.sync-conflict-'), r.stdout);
  const js = await statusJson(A);
  assert.equal(js.conflicts.length, 1);
  assert.equal(js.conflicts[0]?.madeBy, replicaId(A));
  assert.equal(js.conflicts[0]?.madeByLabel, A);
});

test('status of a path that does not exist exits 2 and names it', async (t) => {
  const dir = scratch(t, 'status-missing');
  const missing = join(dir, 'no-such-root');
  const r = await runFerry(['status', missing]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no-such-root does not exist/);
  assert.equal(fs.existsSync(missing), false);
});

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LocalReplica } from '../../src/adapters/local-replica.ts';
import { nodeFileSystem, sha256 } from '../../src/adapters/node-fs.ts';
import { applyBatch } from '../../src/apply/apply-batch.ts';
import type { FileSystem } from '../../src/ports/filesystem.ts';
import type { ApplyOp } from '../../src/ports/replica.ts';
import { fileEntry, makeEnv, stampOf, writeOp } from '../helpers/apply.ts';
import { collect, doneSummary, ensureUser, eventsOf, runFerry, spawnFerry } from '../helpers/cli.ts';
import { localReplica, syncPorts } from '../helpers/run.ts';
import {
  fingerprint,
  historyContents,
  historyFiles,
  readTree,
  scratch,
  waitFor,
  writeTree,
} from '../helpers/tree.ts';

function out(r: { stdout: string; stderr: string }): string {
  return `${r.stdout}\n${r.stderr}`;
}

function twenty(): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < 20; i++) files[`f${String(i).padStart(2, '0')}.txt`] = `file ${i}`;
  return files;
}

async function syncOk(...args: string[]): Promise<void> {
  const r = await runFerry(['sync', ...args]);
  assert.equal(r.code, 0, out(r));
}

test('a synced root whose .ferry was removed stops the run (exit 3) and nothing changes', async (t) => {
  const d = scratch(t, 'nometa');
  const [A, B, C] = ['A', 'B', 'C'].map((n) => join(d, n)) as [string, string, string];
  writeTree(A, { 'a.txt': 'a', sub: { 'b.txt': 'b' } });
  await syncOk(A, B, C);
  fs.rmSync(join(B, '.ferry'), { recursive: true });
  fs.rmSync(join(B, 'a.txt'));
  fs.writeFileSync(join(C, 'c.txt'), 'new on C');
  const before = [A, B, C].map((x) => fingerprint(x));
  for (const extra of [[], ['--dry-run'], ['--force'], ['--json']]) {
    const r = await runFerry(['sync', ...extra, A, B, C]);
    assert.equal(r.code, 3, `${extra.join(' ')}: ${out(r)}`);
    if (extra[0] === '--json') {
      const last = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { type: string; code: string };
      assert.deepEqual([last.type, last.code], ['error', 'MARKER_MISSING']);
    } else assert.ok(r.stderr.includes(B), `message names the root: ${r.stderr}`);
    assert.deepEqual(
      [A, B, C].map((x) => fingerprint(x)),
      before,
      `${extra.join(' ')} changed something`,
    );
  }
  assert.match((await runFerry(['sync', A, B])).stderr, /marker/);
});

test('a marker replaced by another id stops the run with exit 3', async (t) => {
  const d = scratch(t, 'foreign');
  const [A, B] = ['A', 'B'].map((n) => join(d, n)) as [string, string];
  writeTree(A, { 'a.txt': 'a' });
  await syncOk(A, B);
  fs.writeFileSync(join(B, '.ferry', 'id'), 'zzzzzzzz\n');
  fs.writeFileSync(join(A, 'later.txt'), 'later');
  const before = [fingerprint(A), fingerprint(B)];
  const r = await runFerry(['sync', A, B]);
  assert.equal(r.code, 3, out(r));
  assert.ok(r.stderr.includes(B), r.stderr);
  assert.deepEqual([fingerprint(A), fingerprint(B)], before);

  // Another replica's whole .ferry copied in (its index agrees with its marker) is refused too.
  const C = join(d, 'C');
  writeTree(C, { 'c.txt': 'c' });
  await syncOk(C, join(d, 'D'));
  fs.rmSync(join(B, '.ferry'), { recursive: true });
  fs.cpSync(join(C, '.ferry'), join(B, '.ferry'), { recursive: true });
  const before2 = [fingerprint(A), fingerprint(B)];
  const r2 = await runFerry(['sync', A, B]);
  assert.equal(r2.code, 3, out(r2));
  assert.ok(r2.stderr.includes(B), r2.stderr);
  assert.deepEqual([fingerprint(A), fingerprint(B)], before2);
});

test('a synced root that vanished (unmounted disk) stops the run; the other roots are not emptied', async (t) => {
  const d = scratch(t, 'vanished');
  const [A, B, C] = ['A', 'B', 'C'].map((n) => join(d, n)) as [string, string, string];
  writeTree(A, { ...twenty(), sub: { 'x.txt': 'x' } });
  await syncOk(A, B, C);
  fs.rmSync(C, { recursive: true });
  const before = [fingerprint(A), fingerprint(B)];
  for (const extra of [[], ['--force'], ['-n']]) {
    const r = await runFerry(['sync', ...extra, A, B, C]);
    assert.equal(r.code, 3, out(r));
    assert.ok(r.stderr.includes(C), r.stderr);
    assert.deepEqual([fingerprint(A), fingerprint(B)], before);
    assert.equal(fs.existsSync(C), false, 'the missing root is not recreated');
  }
  // Same with only two roots and the missing one first.
  const r = await runFerry(['sync', C, A]);
  assert.equal(r.code, 3, out(r));
  assert.deepEqual(fingerprint(A), before[0]);
  // An empty folder at the mount point (disk not mounted) is refused as well.
  fs.mkdirSync(C);
  const r2 = await runFerry(['sync', A, B, C]);
  assert.equal(r2.code, 3, out(r2));
  assert.deepEqual([fingerprint(A), fingerprint(B)], before);
  assert.deepEqual(fs.readdirSync(C), []);
});

test('mass delete: deleting 80% of a root stops the run unless --force; deletions go to history', async (t) => {
  const d = scratch(t, 'massdel');
  const [A, B, C] = ['A', 'B', 'C'].map((n) => join(d, n)) as [string, string, string];
  const files = twenty();
  writeTree(A, files);
  await syncOk(A, B, C);
  const names = Object.keys(files);
  const gone = names.slice(0, 16);
  for (const n of gone) fs.rmSync(join(A, n));
  const before = [B, C].map((x) => fingerprint(x));
  const r = await runFerry(['sync', A, B, C]);
  assert.equal(r.code, 3, out(r));
  assert.match(r.stderr, /16 of 20/);
  assert.match(r.stderr, /--force/);
  assert.deepEqual(
    [B, C].map((x) => fingerprint(x)),
    before,
  );
  // It keeps refusing on later runs (the deletions were not forgotten) and in dry runs.
  assert.equal((await runFerry(['sync', A, B, C])).code, 3);
  assert.equal((await runFerry(['sync', '-n', A, B, C])).code, 3);
  assert.deepEqual(
    [B, C].map((x) => fingerprint(x)),
    before,
  );

  const f = await runFerry(['sync', '--force', '--json', A, B, C]);
  assert.equal(f.code, 0, out(f));
  assert.equal(doneSummary(f.stdout).deleted, 32);
  const left = Object.fromEntries(names.slice(16).map((n) => [n, files[n]]));
  for (const root of [A, B, C]) assert.deepEqual(readTree(root), left, root);
  for (const root of [B, C]) {
    const h = historyFiles(root);
    for (const n of gone) assert.deepEqual(h[n], [files[n]], `${root}: ${n} in history`);
  }
});

test('a small deletion (below the threshold) goes through without --force', async (t) => {
  const d = scratch(t, 'smalldel');
  const [A, B] = ['A', 'B'].map((n) => join(d, n)) as [string, string];
  writeTree(A, twenty());
  await syncOk(A, B);
  for (const n of Object.keys(twenty()).slice(0, 9)) fs.rmSync(join(A, n));
  await syncOk(A, B);
  assert.equal(Object.keys(readTree(B)).length, 11);
});

function lockPath(root: string): string {
  return join(root, '.ferry', 'lock');
}

test('two concurrent runs on the same root: the second is refused by the lock, or they serialize', async (t) => {
  const d = scratch(t, 'concurrent');
  const [A, B] = ['A', 'B'].map((n) => join(d, n)) as [string, string];
  writeTree(A, { 'seed.txt': 'seed' });
  await syncOk(A, B);
  const spec: Record<string, Record<string, string>> = {};
  for (let k = 0; k < 30; k++) {
    const dir: Record<string, string> = {};
    for (let i = 0; i < 100; i++) dir[`f${i}.txt`] = `dir ${k} file ${i} `.repeat(1 + (i % 7));
    spec[`d${k}`] = dir;
  }
  writeTree(A, spec);

  const first = spawnFerry(['sync', A, B]);
  const firstDone = collect(first);
  // Start the second once the first holds the lock (bounded wait; no timing is asserted).
  await waitFor(() => fs.existsSync(lockPath(B)), 20_000);
  const second = await runFerry(['sync', A, B]);
  const one = await firstDone;
  const codes = [one.code, second.code].sort();
  if (codes[1] === 3) {
    assert.deepEqual(codes, [0, 3], `${out(one)}\n${out(second)}`);
    const loser = one.code === 3 ? one : second;
    assert.match(loser.stderr, /in use by another ferry/);
    assert.match(loser.stderr, /lock/);
  } else {
    assert.deepEqual(codes, [0, 0], `${out(one)}\n${out(second)}`);
  }
  await syncOk(A, B);
  assert.deepEqual(readTree(B, { hash: true }), readTree(A, { hash: true }));
  assert.equal(fs.existsSync(lockPath(A)), false);
  assert.equal(fs.existsSync(lockPath(B)), false);
});

test('a lock held by a live process refuses the run; a stale lock (dead pid) is taken over', async (t) => {
  const d = scratch(t, 'lock');
  const [A, B] = ['A', 'B'].map((n) => join(d, n)) as [string, string];
  writeTree(A, { 'a.txt': 'a' });
  await syncOk(A, B);
  fs.writeFileSync(join(A, 'new.txt'), 'new');

  fs.writeFileSync(lockPath(B), `${process.pid} ${hostname()}\n`);
  const before = [fingerprint(A), fingerprint(B)];
  const r = await runFerry(['sync', A, B]);
  assert.equal(r.code, 3, out(r));
  assert.ok(r.stderr.includes(B), r.stderr);
  assert.ok(r.stderr.includes(String(process.pid)), r.stderr);
  assert.match(r.stderr, /lock/);
  assert.deepEqual([fingerprint(A), fingerprint(B)], before, 'a locked run changes nothing');
  assert.equal(
    fs.readFileSync(lockPath(B), 'utf8'),
    `${process.pid} ${hostname()}\n`,
    'the lock is left alone',
  );

  // A lock from another host cannot be checked, so it is respected too.
  fs.writeFileSync(lockPath(B), `1 some-other-host.example\n`);
  const r2 = await runFerry(['sync', A, B]);
  assert.equal(r2.code, 3, out(r2));

  // A pid that no longer exists on this host: the lock is stale and taken over.
  const dead = spawnSync(process.execPath, ['-e', '0']);
  assert.equal(dead.status, 0);
  assert.ok(dead.pid > 0);
  fs.writeFileSync(lockPath(B), `${dead.pid} ${hostname()}\n`);
  const r3 = await runFerry(['sync', A, B]);
  assert.equal(r3.code, 0, out(r3));
  assert.equal(fs.readFileSync(join(B, 'new.txt'), 'utf8'), 'new');
  assert.equal(fs.existsSync(lockPath(B)), false, 'the taken-over lock is released at the end');

  // Taking over goes through a guard file, one taker at a time: a live taker's guard means
  // another ferry is taking the lock right now; a dead taker's guard is stale and cleared.
  fs.writeFileSync(join(A, 'newer.txt'), 'newer');
  fs.writeFileSync(lockPath(B), `${dead.pid} ${hostname()}\n`);
  fs.writeFileSync(`${lockPath(B)}.takeover`, `${process.pid} ${hostname()}\n`);
  const r4 = await runFerry(['sync', A, B]);
  assert.equal(r4.code, 3, out(r4));
  assert.equal(fs.readFileSync(lockPath(B), 'utf8'), `${dead.pid} ${hostname()}\n`, 'left to the live taker');
  fs.writeFileSync(`${lockPath(B)}.takeover`, `${dead.pid} ${hostname()}\n`);
  const r5 = await runFerry(['sync', A, B]);
  assert.equal(r5.code, 0, out(r5));
  assert.equal(fs.readFileSync(join(B, 'newer.txt'), 'utf8'), 'newer');
  assert.equal(fs.existsSync(`${lockPath(B)}.takeover`), false);
  assert.equal(fs.existsSync(lockPath(B)), false);
});

test('permission errors: an unreadable subtree is a problem (exit 1), never read as a deletion', async (t) => {
  const user = 'ferrytest';
  const { uid, gid } = ensureUser(user);
  const d = scratch(t, 'perm');
  fs.chmodSync(d, 0o755);
  const [A, B] = ['A', 'B'].map((n) => join(d, n)) as [string, string];
  writeTree(A, {
    'pub.txt': 'pub',
    private: { 'secret.txt': 'secret', deeper: { 's2.txt': 's2' } },
    docs: { 'locked.txt': 'locked v1', 'open.txt': 'open' },
  });
  fs.mkdirSync(B);
  for (const root of [A, B]) chownTree(root, uid, gid);
  const asUser = { user, cwd: d };
  let r = await runFerry(['sync', A, B], asUser);
  assert.equal(r.code, 0, out(r));
  assert.equal(fs.statSync(join(B, 'private', 'secret.txt')).uid, uid);

  fs.chmodSync(join(A, 'private'), 0o000);
  fs.chmodSync(join(A, 'docs', 'locked.txt'), 0o000);
  fs.writeFileSync(join(A, 'pub.txt'), 'pub v2');
  fs.writeFileSync(join(B, 'docs', 'locked.txt'), 'locked v2 from B');
  fs.writeFileSync(join(B, 'private', 'deeper', 's2.txt'), 's2 from B');
  r = await runFerry(['sync', '--json', A, B], asUser);
  assert.equal(r.code, 1, out(r));
  const problems = eventsOf(r.stdout, 'problem').map(
    (e) => e.problem as { path: string; code: string; root: string },
  );
  assert.ok(
    problems.some((p) => p.path === 'private' && p.code === 'unreadable' && p.root === A),
    JSON.stringify(problems),
  );
  assert.ok(
    problems.some((p) => p.path === 'docs/locked.txt' && p.code === 'unreadable'),
    JSON.stringify(problems),
  );
  // Nothing in the unreadable parts was deleted on B; B's edits there stay; the rest synced.
  assert.deepEqual(readTree(B), {
    docs: '<dir>',
    'docs/locked.txt': 'locked v2 from B',
    'docs/open.txt': 'open',
    private: '<dir>',
    'private/deeper': '<dir>',
    'private/deeper/s2.txt': 's2 from B',
    'private/secret.txt': 'secret',
    'pub.txt': 'pub v2',
  });
  // A's unreadable content was not overwritten (root can still look).
  fs.chmodSync(join(A, 'private'), 0o755);
  assert.equal(fs.readFileSync(join(A, 'private', 'deeper', 's2.txt'), 'utf8'), 's2');
  assert.equal(fs.readFileSync(join(A, 'docs', 'locked.txt'), 'utf8'), 'locked v1');
  fs.chmodSync(join(A, 'private'), 0o000);

  // Text output names the subtree; the text run also exits 1.
  const text = await runFerry(['sync', A, B], asUser);
  assert.equal(text.code, 1, out(text));
  assert.match(text.stderr, /private.*unreadable/);

  // Once readable again, everything syncs (B's edits were made later than A's versions).
  fs.chmodSync(join(A, 'private'), 0o755);
  fs.chmodSync(join(A, 'docs', 'locked.txt'), 0o644);
  r = await runFerry(['sync', A, B], asUser);
  assert.equal(r.code, 0, out(r));
  assert.equal(fs.readFileSync(join(A, 'private', 'deeper', 's2.txt'), 'utf8'), 's2 from B');
  assert.equal(fs.readFileSync(join(A, 'private', 'secret.txt'), 'utf8'), 'secret');
});

function chownTree(p: string, uid: number, gid: number): void {
  fs.chownSync(p, uid, gid);
  if (fs.lstatSync(p).isDirectory()) for (const n of fs.readdirSync(p)) chownTree(join(p, n), uid, gid);
}

// ---- I4 at the apply level: a target changed between scan and apply is left alone ----

test('applyBatch: a write whose target no longer matches the scan is skipped (changed-during-sync)', async (t) => {
  const root = scratch(t, 'apply-write');
  fs.writeFileSync(join(root, 'f.txt'), 'as scanned');
  const scanned = stampOf(join(root, 'f.txt'));
  const seen = fileEntry('f.txt', 'as scanned');
  fs.writeFileSync(join(root, 'f.txt'), 'user edit!');
  const { replies, changes } = await applyBatch(makeEnv(root), [
    writeOp('f.txt', 'incoming', { kind: 'entry', stat: scanned, entry: seen }),
  ]);
  assert.equal(replies.length, 1);
  const reply = replies[0];
  assert.ok(reply && !reply.ok);
  assert.equal(reply.problem.code, 'changed-during-sync');
  assert.equal(reply.problem.path, 'f.txt');
  assert.deepEqual(changes, []);
  assert.equal(fs.readFileSync(join(root, 'f.txt'), 'utf8'), 'user edit!');
  assert.deepEqual(fs.readdirSync(join(root, '.ferry', 'tmp')), [], 'no temp file left behind');
});

test('applyBatch: a delete whose target changed is skipped and the file kept', async (t) => {
  const root = scratch(t, 'apply-delete');
  fs.writeFileSync(join(root, 'd.txt'), 'old');
  const scanned = stampOf(join(root, 'd.txt'));
  fs.writeFileSync(join(root, 'd.txt'), 'new content after the scan');
  const op: ApplyOp = {
    op: 'delete',
    path: 'd.txt',
    entry: { kind: 'tombstone', path: 'd.txt', vv: { other: 2 } },
    expect: { kind: 'entry', stat: scanned, entry: fileEntry('d.txt', 'old') },
  };
  const { replies, changes } = await applyBatch(makeEnv(root), [op]);
  const reply = replies[0];
  assert.ok(reply && !reply.ok);
  assert.equal(reply.problem.code, 'changed-during-sync');
  assert.deepEqual(changes, []);
  assert.equal(fs.readFileSync(join(root, 'd.txt'), 'utf8'), 'new content after the scan');
});

test('applyBatch: a file that appeared where the scan saw nothing is not overwritten', async (t) => {
  const root = scratch(t, 'apply-absent');
  fs.writeFileSync(join(root, 'appeared.txt'), 'made by the user just now');
  fs.mkdirSync(join(root, 'dir'));
  const ops: ApplyOp[] = [
    writeOp('appeared.txt', 'incoming', { kind: 'absent' }),
    {
      op: 'symlink',
      path: 'dir',
      entry: { kind: 'symlink', path: 'dir', vv: { x: 1 }, target: 'elsewhere' },
      expect: { kind: 'absent' },
    },
    {
      op: 'rename',
      path: 'gone.txt',
      to: 'appeared.txt',
      entry: fileEntry('appeared.txt', 'x'),
      expect: { kind: 'absent' },
    },
    writeOp('fine.txt', 'fine', { kind: 'absent' }),
  ];
  const { replies } = await applyBatch(makeEnv(root), ops);
  assert.deepEqual(
    replies.map((r) => (r.ok ? 'ok' : r.problem.code)),
    ['changed-during-sync', 'changed-during-sync', 'changed-during-sync', 'ok'],
  );
  assert.equal(fs.readFileSync(join(root, 'appeared.txt'), 'utf8'), 'made by the user just now');
  assert.equal(fs.lstatSync(join(root, 'dir')).isDirectory(), true);
  assert.equal(fs.readFileSync(join(root, 'fine.txt'), 'utf8'), 'fine');
  // A new path is checked just before its rename; the staged bytes of the refused one are gone.
  assert.deepEqual(fs.readdirSync(join(root, '.ferry', 'tmp')), [], 'temp files discarded');
});

test('applyBatch: an edit landing after the content is staged, just before the rename, is not overwritten', async (t) => {
  const root = scratch(t, 'apply-race');
  fs.writeFileSync(join(root, 'r.txt'), 'scanned');
  fs.writeFileSync(join(root, 'del.txt'), 'to delete');
  const st = stampOf(join(root, 'r.txt'));
  const stDel = stampOf(join(root, 'del.txt'));
  // The first filesystem sync happens after every temp file is written and before any rename:
  // the user's editor saves both files exactly then.
  let fired = false;
  const racing: FileSystem = {
    ...nodeFileSystem,
    async syncFilesystem(dir) {
      if (!fired) {
        fired = true;
        fs.writeFileSync(join(root, 'r.txt'), 'saved by the user during the run');
        fs.writeFileSync(join(root, 'del.txt'), 'edited before the delete');
        fs.writeFileSync(join(root, 'late.txt'), 'appeared late');
      }
      await nodeFileSystem.syncFilesystem(dir);
    },
  };
  const { replies, changes } = await applyBatch(makeEnv(root, racing), [
    writeOp('r.txt', 'incoming', { kind: 'entry', stat: st, entry: fileEntry('r.txt', 'scanned') }),
    writeOp('late.txt', 'incoming late', { kind: 'absent' }),
    {
      op: 'delete',
      path: 'del.txt',
      entry: { kind: 'tombstone', path: 'del.txt', vv: { o: 1 } },
      expect: { kind: 'entry', stat: stDel, entry: fileEntry('del.txt', 'to delete') },
    },
  ]);
  assert.ok(fired, 'the race hook ran');
  assert.deepEqual(
    replies.map((r) => (r.ok ? 'ok' : r.problem.code)),
    ['changed-during-sync', 'changed-during-sync', 'changed-during-sync'],
  );
  assert.deepEqual(changes, []);
  assert.equal(fs.readFileSync(join(root, 'r.txt'), 'utf8'), 'saved by the user during the run');
  assert.equal(fs.readFileSync(join(root, 'late.txt'), 'utf8'), 'appeared late');
  assert.equal(fs.readFileSync(join(root, 'del.txt'), 'utf8'), 'edited before the delete');
  assert.deepEqual(fs.readdirSync(join(root, '.ferry', 'tmp')), [], 'temp files discarded');
});

test('applyBatch: a matching expectation applies, keeping the replaced version in history', async (t) => {
  const root = scratch(t, 'apply-ok');
  fs.writeFileSync(join(root, 'ok.txt'), 'old version');
  const st = stampOf(join(root, 'ok.txt'));
  const { replies, changes } = await applyBatch(makeEnv(root), [
    writeOp('ok.txt', 'new version', { kind: 'entry', stat: st, entry: fileEntry('ok.txt', 'old version') }),
  ]);
  assert.deepEqual(
    replies.map((r) => r.ok),
    [true],
  );
  assert.equal(changes.length, 1);
  assert.equal(fs.readFileSync(join(root, 'ok.txt'), 'utf8'), 'new version');
  assert.equal(fs.readFileSync(join(root, '.ferry', 'history', 'run', 'ok.txt'), 'utf8'), 'old version');
  assert.equal(fs.statSync(join(root, 'ok.txt')).mtimeMs, Date.UTC(2020, 0, 1));
});

test('two runs in the same second keep their history apart, even when one kept a file and the next a path under it', async (t) => {
  const d = scratch(t, 'history-same-second');
  const [A, B] = [join(d, 'A'), join(d, 'B')];
  const sameSecond = () => Date.UTC(2024, 0, 2, 3, 4, 5);
  const at = (root: string) =>
    new LocalReplica(
      root,
      { root, meta: join(root, '.ferry') },
      { fs: nodeFileSystem, newHasher: sha256, now: sameSecond },
    );
  const run = () => syncPorts([at(A), at(B)]);
  writeTree(A, { d: 'a file' });
  await run();
  fs.rmSync(join(A, 'd'));
  writeTree(A, { d: { x: 'x v1' } });
  let s = await run(); // B's file d goes to history
  assert.equal(s.problems, 0);
  fs.rmSync(join(A, 'd', 'x'));
  s = await run(); // B's d/x goes to history, in a folder of its own
  assert.equal(s.problems, 0);
  assert.equal(fs.existsSync(join(B, 'd', 'x')), false);
  const kept = historyContents(B).sort();
  assert.deepEqual(kept, ['a file', 'x v1']);
});

test('applyBatch: a replace whose rename fails leaves no history link sharing the live file', async (t) => {
  const root = scratch(t, 'apply-unkeep');
  fs.writeFileSync(join(root, 'f.txt'), 'live');
  const failingRename: FileSystem = {
    ...nodeFileSystem,
    rename: async (from, to) => {
      if (to === join(root, 'f.txt'))
        throw Object.assign(new Error('EPERM: not permitted'), { code: 'EPERM' });
      return nodeFileSystem.rename(from, to);
    },
  };
  const op = writeOp('f.txt', 'incoming', {
    kind: 'entry',
    stat: stampOf(join(root, 'f.txt')),
    entry: fileEntry('f.txt', 'live'),
  });
  const { replies } = await applyBatch(makeEnv(root, failingRename), [op]);
  assert.equal(replies[0]?.ok, false);
  assert.equal(fs.readFileSync(join(root, 'f.txt'), 'utf8'), 'live');
  // An in-place edit of the live file must not be able to change what history says it held.
  assert.deepEqual(historyFiles(root), {}, 'no history copy of a file that was never replaced');
});

test('a hint of an apply that failed is ended: the same content written later by hand is an edit here', async (t) => {
  const d = scratch(t, 'hint-failed');
  const B = join(d, 'B');
  writeTree(B, { 'p.txt': 'false' });
  const first = localReplica(B);
  await first.open({ create: true, readOnly: false });
  await first.scan({ ignore: [], dryRun: false });
  // The run planned 'true' from a peer, but the file is not what it expected (I4): refused.
  const planned = {
    ...writeOp('p.txt', 'true', { kind: 'absent' }),
    entry: { ...fileEntry('p.txt', 'true'), vv: { peer: 7 } },
  };
  const [reply] = await first.apply([planned]);
  assert.equal(reply?.ok, false);
  await first.close();

  fs.writeFileSync(join(B, 'p.txt'), 'true'); // the user, by hand
  const again = localReplica(B);
  await again.open({ create: false, readOnly: false });
  const scan = await again.scan({ ignore: [], dryRun: false });
  await again.close();
  const vv = scan.entries.find((e) => e.path === 'p.txt')?.vv ?? {};
  assert.equal(vv.peer, undefined, 'the refused apply lends its vector to nothing');
});

test('ferries racing to take over one stale lock: exactly one of them gets it', async (t) => {
  const d = scratch(t, 'lock-race');
  const lock = join(d, 'lock');
  const release = join(d, 'release');
  const dead = spawnSync(process.execPath, ['-e', '0']);
  fs.writeFileSync(lock, `${dead.pid} ${hostname()}\n`);
  const lockModule = new URL('../../src/adapters/lock.ts', import.meta.url).href;
  // Each racer reports, then holds what it got until the test has heard from all of them.
  const racer = [
    `import { takeLock } from ${JSON.stringify(lockModule)};`,
    'import { existsSync } from "node:fs";',
    'let free;',
    `try { free = takeLock(${JSON.stringify(lock)}, 'root'); console.log('got'); } catch (e) { console.log(e.code); }`,
    `const wait = setInterval(() => { if (existsSync(${JSON.stringify(release)})) { free?.(); clearInterval(wait); } }, 20);`,
  ].join('\n');
  const runs = Array.from({ length: 6 }, () =>
    spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', racer], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const said = runs.map((c) => collect(c));
  const lines: string[] = [];
  for (const c of runs) c.stdout?.on('data', (b: Buffer) => lines.push(...b.toString().trim().split('\n')));
  await waitFor(() => lines.length >= runs.length, 60_000, 20);
  fs.writeFileSync(release, '');
  await Promise.all(said);
  assert.deepEqual(
    [...lines].sort(),
    ['LOCKED', 'LOCKED', 'LOCKED', 'LOCKED', 'LOCKED', 'got'],
    'one holder, every other one refused',
  );
});

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventsOf, runFerry } from '../helpers/cli.ts';
import { conflictCopies, historyContents, readTree, scratch, writeTree } from '../helpers/tree.ts';

// A root put back to an earlier state, .ferry included (a restored backup, a copied folder), must
// not reuse version counters its peers have already seen: what it changes afterwards would look
// older than their versions and be replaced with no conflict (engine/generations.ts).

function out(r: { stdout: string; stderr: string }): string {
  return `${r.stdout}\n${r.stderr}`;
}

async function syncOk(...roots: string[]): Promise<void> {
  const r = await runFerry(['sync', ...roots]);
  assert.equal(r.code, 0, out(r));
}

test('a root restored from a backup: an edit made after the restore is kept as a conflict, not overwritten', async (t) => {
  const d = scratch(t, 'rewind-restore');
  const [A, B, backup] = [join(d, 'A'), join(d, 'B'), join(d, 'A.bak')];
  writeTree(A, { f: 'v1', g: 'g1' });
  await syncOk(A, B);
  fs.cpSync(A, backup, { recursive: true, preserveTimestamps: true });
  fs.writeFileSync(join(A, 'f'), 'v2 from A');
  fs.writeFileSync(join(A, 'g'), 'g2 from A');
  await syncOk(A, B);
  fs.writeFileSync(join(B, 'f'), 'v3 from B');
  await syncOk(A, B);

  fs.rmSync(A, { recursive: true });
  fs.renameSync(backup, A);
  fs.writeFileSync(join(A, 'f'), 'v4 from A, after the restore');
  const r = await runFerry(['sync', '--json', A, B]);
  assert.equal(r.code, 1, `the clash is a conflict\n${out(r)}`);
  const start = eventsOf(r.stdout, 'start')[0] as { roots: { label: string; rewound?: boolean }[] };
  assert.deepEqual(
    start.roots.map((x) => x.rewound === true),
    [true, false],
    'the restored root is named as such',
  );
  for (const root of [A, B]) {
    const texts = Object.values(readTree(root));
    assert.ok(texts.includes('v4 from A, after the restore'), `${root} has the edit made after the restore`);
    assert.ok(texts.includes('v3 from B'), `${root} has B's version`);
    assert.equal(conflictCopies(root).length, 1);
  }
  // g was not edited after the restore: the restored (older) copy simply takes A's own later version.
  assert.equal(fs.readFileSync(join(A, 'g'), 'utf8'), 'g2 from A');
  assert.ok(historyContents(A).includes('g1'), 'the restored copy it replaced is in history');

  await syncOk(A, B);
  const again = await runFerry(['sync', '--json', A, B]);
  assert.equal(again.code, 0, out(again));
  const roots = (eventsOf(again.stdout, 'start')[0] as { roots: { rewound?: boolean }[] }).roots;
  assert.ok(
    roots.every((x) => x.rewound !== true),
    'once synced, no root is rewound any more',
  );
});

test('a copy of a root, .ferry and all, synced elsewhere: the original is caught when it meets that peer', async (t) => {
  const d = scratch(t, 'rewind-copy');
  const [A, copy, C] = [join(d, 'A'), join(d, 'A-copy'), join(d, 'C')];
  writeTree(A, { f: 'v1' });
  await syncOk(A, C);
  fs.cpSync(A, copy, { recursive: true, preserveTimestamps: true });
  fs.writeFileSync(join(copy, 'f'), 'edit in the copy');
  await syncOk(copy, C);
  fs.writeFileSync(join(A, 'f'), 'edit in the original');
  const r = await runFerry(['sync', A, C]);
  assert.equal(r.code, 1, out(r));
  assert.match(r.stderr, /older than its peers have seen it/);
  const texts = Object.values(readTree(C));
  assert.ok(texts.includes('edit in the copy'));
  assert.ok(texts.includes('edit in the original'));
});

test('a restored root that first meets a peer which never saw its later state is still caught, by its own host', async (t) => {
  const d = scratch(t, 'rewind-host');
  const env = { XDG_STATE_HOME: join(d, 'state') };
  const sync = async (...roots: string[]) => runFerry(['sync', '--json', ...roots], { env });
  const [A, B, C, backup] = [join(d, 'A'), join(d, 'B'), join(d, 'C'), join(d, 'B.bak')];
  writeTree(A, { p: 'O' });
  assert.equal((await sync(A, B)).code, 0);
  fs.cpSync(B, backup, { recursive: true, preserveTimestamps: true });
  fs.writeFileSync(join(B, 'p'), 'Y1 from B');
  assert.equal((await sync(A, B)).code, 0);
  fs.writeFileSync(join(A, 'p'), 'Z from A');
  assert.equal((await sync(A, B)).code, 0);

  fs.rmSync(B, { recursive: true });
  fs.renameSync(backup, B);
  fs.writeFileSync(join(B, 'p'), 'Y2 from B, after the restore');
  const withC = await sync(B, C); // C never saw B's later state
  assert.equal(withC.code, 0, out(withC));
  const roots = (eventsOf(withC.stdout, 'start')[0] as { roots: { rewound?: boolean }[] }).roots;
  assert.deepEqual(
    roots.map((x) => x.rewound === true),
    [true, false],
    'B is caught at its first run',
  );
  assert.equal((await sync(B, C)).code, 0);

  const r = await sync(A, B);
  assert.equal(r.code, 1, `Y2 meets Z as a conflict\n${out(r)}`);
  for (const root of [A, B]) {
    const texts = Object.values(readTree(root));
    assert.ok(texts.includes('Y2 from B, after the restore'), `${root} keeps B's edit`);
    assert.ok(texts.includes('Z from A'), `${root} keeps A's`);
  }
});

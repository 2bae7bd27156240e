import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { doneSummary, eventsOf, runFerry } from '../helpers/cli.ts';
import {
  conflictCopies,
  historyContents,
  historyFiles,
  readTree,
  replicaId,
  scratch,
  writeTree,
} from '../helpers/tree.ts';

const T_OLD = Date.UTC(2021, 2, 4, 5, 6, 7, 250); // 2021-03-04 05:06:07.250 UTC
const T_NEW = Date.UTC(2022, 6, 8, 9, 10, 11, 0);

function setMtime(p: string, ms: number): void {
  fs.utimesSync(p, ms / 1000, ms / 1000);
}

function roots(d: string, ...names: string[]): string[] {
  return names.map((n) => join(d, n));
}

function out(r: { stdout: string; stderr: string }): string {
  return `${r.stdout}\n${r.stderr}`;
}

async function syncOk(...args: string[]): Promise<void> {
  const r = await runFerry(['sync', ...args]);
  assert.equal(r.code, 0, out(r));
}

test('concurrent edits on 2 of 3 roots: both kept on every root, deterministic name, then exit 0', async (t) => {
  const d = scratch(t, 'conf3');
  const [A, B, C] = roots(d, 'A', 'B', 'C') as [string, string, string];
  writeTree(A, { 'notes.txt': 'base', Makefile: 'base make', '.bashrc': 'base rc', other: 'o' });
  await syncOk(A, B, C);
  const idA = replicaId(A);

  for (const [name, a, b] of [
    ['notes.txt', 'edit from A', 'edit from B, the newer one'],
    ['Makefile', 'A make', 'B make'],
    ['.bashrc', 'A rc', 'B rc'],
  ] as const) {
    fs.writeFileSync(join(A, name), a);
    setMtime(join(A, name), T_OLD);
    fs.writeFileSync(join(B, name), b);
    setMtime(join(B, name), T_NEW);
  }
  const r = await runFerry(['sync', '--json', A, B, C]);
  assert.equal(r.code, 1, out(r));
  const conflicts = eventsOf(r.stdout, 'conflict');
  assert.equal(conflicts.length, 3);
  assert.equal(doneSummary(r.stdout).conflicts, 3);

  const stamp = '20210304-050607';
  const notes = conflicts
    .map((e) => e.conflict as Record<string, unknown>)
    .find((c) => c.path === 'notes.txt');
  assert.deepEqual(notes, {
    path: 'notes.txt',
    loserMadeBy: idA,
    winnerMadeBy: replicaId(B),
    keptAs: `notes.sync-conflict-${stamp}-${idA}.txt`,
    rule: 'keep-both',
  });
  const expected = {
    '.bashrc': 'B rc',
    [`.bashrc.sync-conflict-${stamp}-${idA}`]: 'A rc',
    Makefile: 'B make',
    [`Makefile.sync-conflict-${stamp}-${idA}`]: 'A make',
    'notes.txt': 'edit from B, the newer one',
    [`notes.sync-conflict-${stamp}-${idA}.txt`]: 'edit from A',
    other: 'o',
  };
  for (const root of [A, B, C]) assert.deepEqual(readTree(root), expected, root);
  // The loser kept its mtime on its copy; the winner its own.
  for (const root of [A, B, C]) {
    assert.ok(
      Math.abs(fs.statSync(join(root, `notes.sync-conflict-${stamp}-${idA}.txt`)).mtimeMs - T_OLD) <= 1,
    );
    assert.ok(Math.abs(fs.statSync(join(root, 'notes.txt')).mtimeMs - T_NEW) <= 1);
  }

  const again = await runFerry(['sync', '--json', A, B, C]);
  assert.equal(again.code, 0, out(again));
  assert.equal(doneSummary(again.stdout).copied, 0);
  assert.equal(doneSummary(again.stdout).conflicts, 0);
  for (const root of [A, B, C]) assert.deepEqual(readTree(root), expected, root);
});

test('text output names the conflict and where the other version went', async (t) => {
  const d = scratch(t, 'conftext');
  const [A, B] = roots(d, 'A', 'B') as [string, string];
  writeTree(A, { 'f.txt': 'base' });
  await syncOk(A, B);
  fs.writeFileSync(join(A, 'f.txt'), 'A');
  setMtime(join(A, 'f.txt'), T_NEW);
  fs.writeFileSync(join(B, 'f.txt'), 'B');
  setMtime(join(B, 'f.txt'), T_OLD);
  const r = await runFerry(['sync', A, B]);
  assert.equal(r.code, 1, out(r));
  const copy = `f.sync-conflict-20210304-050607-${replicaId(B)}.txt`;
  assert.match(r.stderr, /conflict: f\.txt/);
  assert.ok(r.stderr.includes(copy), r.stderr);
  assert.match(r.stdout, /1 conflicts/);
  assert.equal(fs.readFileSync(join(A, copy), 'utf8'), 'B');
  assert.equal(fs.readFileSync(join(B, 'f.txt'), 'utf8'), 'A');
});

test('ferry status lists the open conflict copy and which replica made it', async (t) => {
  const d = scratch(t, 'confstatus');
  const [A, B, C] = roots(d, 'A', 'B', 'C') as [string, string, string];
  writeTree(A, { 'doc.md': 'base' });
  await syncOk(A, B, C);
  fs.writeFileSync(join(A, 'doc.md'), 'A wins');
  setMtime(join(A, 'doc.md'), T_NEW);
  fs.writeFileSync(join(C, 'doc.md'), 'C loses');
  setMtime(join(C, 'doc.md'), T_OLD);
  const r = await runFerry(['sync', A, B, C]);
  assert.equal(r.code, 1, out(r));
  const idC = replicaId(C);
  const copy = `doc.sync-conflict-20210304-050607-${idC}.md`;

  const st = await runFerry(['status', B]);
  assert.equal(st.code, 0, out(st));
  const line = st.stdout.split('\n').find((l) => l.includes(copy));
  assert.ok(line, st.stdout);
  assert.ok(line.includes(idC), line);
  assert.ok(line.includes(C), `the maker's label in: ${line}`);

  const js = await runFerry(['status', '--json', A]);
  assert.equal(js.code, 0, out(js));
  const report = JSON.parse(js.stdout) as {
    conflicts: { path: string; madeBy: string; madeByLabel?: string }[];
  };
  assert.deepEqual(report.conflicts, [{ path: copy, madeBy: idC, madeByLabel: C }]);

  // Once the user resolves it (removes the copy) and syncs, status is clean everywhere.
  fs.rmSync(join(B, copy));
  await syncOk(A, B, C);
  for (const root of [A, B, C]) {
    const s = JSON.parse((await runFerry(['status', '--json', root])).stdout) as { conflicts: unknown[] };
    assert.deepEqual(s.conflicts, [], root);
    assert.deepEqual(conflictCopies(root), [], root);
  }
  // The removed copy is kept in history of the roots where the deletion was applied.
  assert.ok(historyContents(A).includes('C loses'));
  assert.ok(historyContents(C).includes('C loses'));
});

test('--conflict newest keeps the newer version and puts the other into history', async (t) => {
  const d = scratch(t, 'newest');
  const [A, B, C] = roots(d, 'A', 'B', 'C') as [string, string, string];
  writeTree(A, { 'f.txt': 'base' });
  await syncOk(A, B, C);
  fs.writeFileSync(join(A, 'f.txt'), 'older A');
  setMtime(join(A, 'f.txt'), T_OLD);
  fs.writeFileSync(join(B, 'f.txt'), 'newer B');
  setMtime(join(B, 'f.txt'), T_NEW);
  const r = await runFerry(['sync', '--json', '--conflict', 'newest', A, B, C]);
  assert.ok(r.code === 0 || r.code === 1, out(r));
  assert.deepEqual(
    eventsOf(r.stdout, 'conflict').map((e) => e.conflict),
    [
      {
        path: 'f.txt',
        loserMadeBy: replicaId(A),
        winnerMadeBy: replicaId(B),
        keptAs: 'history',
        rule: 'newest',
      },
    ],
  );
  for (const root of [A, B, C]) {
    assert.deepEqual(readTree(root), { 'f.txt': 'newer B' }, root);
    assert.deepEqual(conflictCopies(root), []);
  }
  assert.deepEqual(historyFiles(A)['f.txt'], ['older A']);
  assert.deepEqual(historyFiles(C)['f.txt'], ['base']);
  await syncOk(A, B, C);

  // The same the other way round: the newer side is A this time.
  fs.writeFileSync(join(A, 'f.txt'), 'newest A');
  setMtime(join(A, 'f.txt'), T_NEW + 60_000);
  fs.writeFileSync(join(C, 'f.txt'), 'old C');
  setMtime(join(C, 'f.txt'), T_OLD);
  const r2 = await runFerry(['sync', '--conflict', 'newest', A, B, C]);
  assert.ok(r2.code === 0 || r2.code === 1, out(r2));
  for (const root of [A, B, C]) assert.deepEqual(readTree(root), { 'f.txt': 'newest A' }, root);
  assert.ok(historyContents(C).includes('old C'));
});

test('--conflict prefer=ROOT keeps the preferred root version even when it is older', async (t) => {
  const d = scratch(t, 'prefer');
  const [A, B, C] = roots(d, 'A', 'B', 'C') as [string, string, string];
  writeTree(A, { 'f.txt': 'base', 'g.txt': 'base g' });
  await syncOk(A, B, C);
  fs.writeFileSync(join(A, 'f.txt'), 'older but preferred A');
  setMtime(join(A, 'f.txt'), T_OLD);
  fs.writeFileSync(join(C, 'f.txt'), 'newer C');
  setMtime(join(C, 'f.txt'), T_NEW);
  // A conflict the preferred root is not part of falls back to keep-both.
  fs.writeFileSync(join(B, 'g.txt'), 'B g');
  setMtime(join(B, 'g.txt'), T_OLD);
  fs.writeFileSync(join(C, 'g.txt'), 'C g');
  setMtime(join(C, 'g.txt'), T_NEW);
  const r = await runFerry(['sync', `--conflict=prefer=${A}`, A, B, C]);
  assert.ok(r.code === 0 || r.code === 1, out(r));
  const gCopy = `g.sync-conflict-20210304-050607-${replicaId(B)}.txt`;
  for (const root of [A, B, C]) {
    assert.deepEqual(
      readTree(root),
      { 'f.txt': 'older but preferred A', 'g.txt': 'C g', [gCopy]: 'B g' },
      root,
    );
  }
  assert.ok(historyContents(C).includes('newer C'));
  await syncOk(A, B, C);
});

test('delete vs modify: the modification survives everywhere', async (t) => {
  const d = scratch(t, 'delmod');
  const [A, B, C] = roots(d, 'A', 'B', 'C') as [string, string, string];
  writeTree(A, { 'f.txt': 'base', dir: { 'inner.txt': 'inner base' }, keep: 'k' });
  await syncOk(A, B, C);
  fs.rmSync(join(A, 'f.txt'));
  fs.writeFileSync(join(B, 'f.txt'), 'modified on B');
  fs.rmSync(join(B, 'dir'), { recursive: true });
  fs.writeFileSync(join(C, 'dir', 'inner.txt'), 'modified on C');
  const r = await runFerry(['sync', A, B, C]);
  assert.ok(r.code === 0 || r.code === 1, out(r));
  for (const root of [A, B, C])
    assert.deepEqual(
      readTree(root),
      { dir: '<dir>', 'dir/inner.txt': 'modified on C', 'f.txt': 'modified on B', keep: 'k' },
      root,
    );
  await syncOk(A, B, C);
});

test('identical concurrent edits are not a conflict', async (t) => {
  const d = scratch(t, 'same');
  const [A, B, C] = roots(d, 'A', 'B', 'C') as [string, string, string];
  writeTree(A, { 'f.txt': 'base' });
  await syncOk(A, B, C);
  fs.writeFileSync(join(A, 'f.txt'), 'the same new text');
  setMtime(join(A, 'f.txt'), T_OLD);
  fs.writeFileSync(join(B, 'f.txt'), 'the same new text');
  setMtime(join(B, 'f.txt'), T_NEW);
  fs.writeFileSync(join(A, 'new.txt'), 'created twice');
  fs.writeFileSync(join(C, 'new.txt'), 'created twice');
  const r = await runFerry(['sync', '--json', A, B, C]);
  assert.equal(r.code, 0, out(r));
  assert.equal(doneSummary(r.stdout).conflicts, 0);
  for (const root of [A, B, C]) {
    assert.deepEqual(readTree(root), { 'f.txt': 'the same new text', 'new.txt': 'created twice' }, root);
    assert.deepEqual(conflictCopies(root), []);
  }
});

test('an edit of the same size restored to the same mtime is still detected and synced', async (t) => {
  const d = scratch(t, 'samestat');
  const [A, B] = roots(d, 'A', 'B') as [string, string];
  writeTree(A, { 'f.bin': 'AAAA-1111', 'g.txt': 'gggg' });
  setMtime(join(A, 'f.bin'), T_OLD);
  await syncOk(A, B);
  const before = fs.statSync(join(B, 'f.bin'));
  fs.writeFileSync(join(B, 'f.bin'), 'BBBB-2222');
  fs.utimesSync(join(B, 'f.bin'), before.atime, before.mtime);
  const after = fs.statSync(join(B, 'f.bin'));
  assert.equal(after.size, before.size);
  assert.equal(after.mtimeMs, before.mtimeMs);
  const r = await runFerry(['sync', '--json', A, B]);
  assert.equal(r.code, 0, out(r));
  assert.equal(doneSummary(r.stdout).copied, 1);
  assert.equal(fs.readFileSync(join(A, 'f.bin'), 'utf8'), 'BBBB-2222');
  assert.deepEqual(historyFiles(A)['f.bin'], ['AAAA-1111']);
  assert.deepEqual(conflictCopies(A), []);
});

test('--mode mirror: the first root wins, target-only files go to the target history', async (t) => {
  const d = scratch(t, 'mirror');
  const [A, B, C] = roots(d, 'A', 'B', 'C') as [string, string, string];
  writeTree(A, { 'a.txt': 'a', 'shared.txt': 'from A', sub: { 's.txt': 's' } });
  writeTree(B, { 'shared.txt': 'from B, newer', 'onlyB.txt': 'only B' });
  setMtime(join(B, 'shared.txt'), Date.now() + 3_600_000);
  writeTree(C, { cdir: { 'onlyC.txt': 'only C' } });
  const r = await runFerry(['sync', '--mode', 'mirror', A, B, C]);
  assert.equal(r.code, 0, out(r));
  const want = { 'a.txt': 'a', 'shared.txt': 'from A', sub: '<dir>', 'sub/s.txt': 's' };
  for (const root of [A, B, C]) assert.deepEqual(readTree(root), want, root);
  assert.deepEqual(historyFiles(B)['onlyB.txt'], ['only B']);
  assert.deepEqual(historyFiles(B)['shared.txt'], ['from B, newer']);
  assert.deepEqual(historyFiles(C)['cdir/onlyC.txt'], ['only C']);
  assert.deepEqual(historyFiles(A), {});

  // Later edits on a target are undone by the next mirror run (kept in that target's history).
  fs.writeFileSync(join(B, 'a.txt'), 'edited on B');
  fs.writeFileSync(join(C, 'stray.txt'), 'stray');
  fs.writeFileSync(join(A, 'later.txt'), 'later');
  const r2 = await runFerry(['sync', '--mode', 'mirror', A, B, C]);
  assert.equal(r2.code, 0, out(r2));
  const want2 = { ...want, 'later.txt': 'later' };
  for (const root of [A, B, C]) assert.deepEqual(readTree(root), want2, root);
  assert.ok(historyContents(B).includes('edited on B'));
  assert.ok(historyContents(C).includes('stray'));
  for (const root of [A, B, C]) assert.deepEqual(conflictCopies(root), []);
});

test('folder replaced by a symlink on one root while a file is added inside on another: both kept, makers named right', async (t) => {
  const d = scratch(t, 'dirlink');
  const [A, B] = roots(d, 'A', 'B') as [string, string];
  const outside = join(d, 'outside');
  fs.mkdirSync(outside);
  writeTree(A, { d: { 'one.txt': 'one' } });
  await syncOk(A, B);
  fs.rmSync(join(B, 'd'), { recursive: true });
  fs.symlinkSync('../outside', join(B, 'd'));
  fs.writeFileSync(join(A, 'd', 'new.txt'), 'new on A');
  const r = await runFerry(['sync', '--json', A, B]);
  assert.equal(r.code, 1, out(r));
  assert.deepEqual(fs.readdirSync(outside), []);
  const want = readTree(A);
  assert.deepEqual(readTree(B), want);
  assert.equal(want['d/new.txt'], 'new on A');
  const copy = Object.entries(want).find(([p]) => p.startsWith('d.sync-conflict-'));
  assert.deepEqual(copy?.[1], { link: '../outside' }, 'the symlink is kept as a conflict copy');
  // A link has no mtime of its own: its copy is stamped with the run's time, not 1970.
  const year = Number(/^d\.sync-conflict-(\d{4})/.exec(copy?.[0] ?? '')?.[1]);
  assert.ok(year >= new Date().getUTCFullYear() - 1, `conflict copy ${copy?.[0]} stamped ${year}`);
  const [c] = eventsOf(r.stdout, 'conflict').map((e) => e.conflict as Record<string, unknown>);
  // The folder that keeps the name holds A's new file; the link was B's change.
  assert.equal(c?.loserMadeBy, replicaId(B));
  assert.equal(c?.winnerMadeBy, replicaId(A), `winner and loser both reported as ${String(c?.loserMadeBy)}`);
});

test('a conflict whose losing version cannot be moved aside stays a conflict, and is never overwritten later', async (t) => {
  const d = scratch(t, 'conf-blocked');
  const [A, B] = roots(d, 'A', 'B') as [string, string];
  writeTree(A, { '.ferryignore': '*.sync-conflict-*\n', f: 'v1' });
  await syncOk(A, B);
  // An ignored file (so unknown to every index) sits at the name the conflict copy will get.
  const copy = join(A, `f.sync-conflict-20210304-050607-${replicaId(A)}`);
  fs.writeFileSync(copy, 'unrelated, ignored');
  fs.writeFileSync(join(A, 'f'), 'v2 from A');
  setMtime(join(A, 'f'), T_OLD); // the older version loses and is moved aside on A
  fs.writeFileSync(join(B, 'f'), 'v2 from B');

  for (const run of ['first', 'second']) {
    const r = await runFerry(['sync', A, B]);
    assert.equal(r.code, 1, `${run} run: the refused rename is a problem\n${out(r)}`);
    assert.equal(fs.readFileSync(join(A, 'f'), 'utf8'), 'v2 from A', `${run} run: A keeps its version`);
    assert.equal(fs.readFileSync(join(B, 'f'), 'utf8'), 'v2 from B', `${run} run: B keeps its version`);
    assert.equal(fs.readFileSync(copy, 'utf8'), 'unrelated, ignored');
  }

  fs.rmSync(copy);
  const r = await runFerry(['sync', A, B]);
  assert.equal(r.code, 1, `the conflict is reported\n${out(r)}`);
  assert.equal(fs.readFileSync(join(A, 'f'), 'utf8'), 'v2 from B');
  assert.equal(fs.readFileSync(copy, 'utf8'), 'v2 from A', 'the loser is kept beside it');
});

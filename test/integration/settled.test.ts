import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { doneSummary, eventsOf, runFerry } from '../helpers/cli.ts';
import { readTree, scratch, writeTree } from '../helpers/tree.ts';

/** One --json run: its exit code, whether the settled fast path was taken, and the summary. */
async function syncJson(args: readonly string[]) {
  const r = await runFerry(['sync', '--json', ...args]);
  const plan = eventsOf(r.stdout, 'plan')[0];
  assert.ok(plan, `a plan event (stderr: ${r.stderr})`);
  return { code: r.code, settled: plan.settled, summary: doneSummary(r.stdout) };
}

test('settled fast path: taken only while every root is unchanged since one converged run', async (t) => {
  const d = scratch(t, 'settled');
  const [A, B, C] = ['A', 'B', 'C'].map((n) => join(d, n)) as [string, string, string];
  writeTree(A, { 'a.txt': 'alpha', sub: { 'b.txt': 'bravo' } });
  writeTree(B, { 'c.txt': 'charlie' });

  assert.equal((await syncJson([A, B])).settled, false, 'first run compares everything');
  const quiet = await syncJson([A, B]);
  assert.deepEqual([quiet.code, quiet.settled, quiet.summary.copied], [0, true, 0]);
  assert.equal((await syncJson(['-n', A, B])).settled, true, 'a dry run may use it too');

  // Same size, mtime put back: only ctime and content differ. The scan must still see it.
  const f = join(B, 'sub', 'b.txt');
  const before = fs.statSync(f);
  fs.writeFileSync(f, 'BRAVO');
  fs.utimesSync(f, before.atime, before.mtime);
  const edit = await syncJson([A, B]);
  assert.deepEqual([edit.code, edit.settled, edit.summary.copied], [0, false, 1]);
  assert.equal(fs.readFileSync(join(A, 'sub', 'b.txt'), 'utf8'), 'BRAVO');
  assert.equal((await syncJson([A, B])).settled, true);

  // Other ignore rules are another state: paths that were ignored may now take part.
  assert.equal((await syncJson(['--exclude', '*.tmp', A, B])).settled, false);
  assert.equal((await syncJson(['--exclude', '*.tmp', A, B])).settled, true);
  assert.equal((await syncJson([A, B])).settled, false);

  // A syncs with a new root C: A and C share a newer token than B's, so A+B compare again.
  const withC = await syncJson([A, C]);
  assert.deepEqual([withC.code, withC.settled], [0, false]);
  assert.deepEqual(readTree(C), readTree(A));
  const back = await syncJson([A, B]);
  assert.deepEqual([back.code, back.settled, back.summary.copied], [0, false, 0]);
});

test('settled fast path: a run that ended in conflict leaves no token; deletions still propagate', async (t) => {
  const d = scratch(t, 'settled-conflict');
  const [A, B] = ['A', 'B'].map((n) => join(d, n)) as [string, string];
  writeTree(A, { 'n.txt': 'base', 'gone.txt': 'soon deleted' });
  assert.equal((await syncJson([A, B])).code, 0);
  assert.equal((await syncJson([A, B])).settled, true);

  fs.writeFileSync(join(A, 'n.txt'), 'edit on A');
  fs.writeFileSync(join(B, 'n.txt'), 'edit on B, longer');
  const conflict = await syncJson([A, B]);
  assert.deepEqual([conflict.code, conflict.summary.conflicts], [1, 1]);
  // Converged now (both copies on both sides), but a conflict run gives no token.
  const next = await syncJson([A, B]);
  assert.deepEqual([next.code, next.settled], [0, false]);
  assert.equal((await syncJson([A, B])).settled, true);

  fs.rmSync(join(B, 'gone.txt'));
  const del = await syncJson([A, B]);
  assert.deepEqual([del.code, del.settled, del.summary.deleted], [0, false, 1]);
  assert.equal(fs.existsSync(join(A, 'gone.txt')), false);
  assert.deepEqual(readTree(A), readTree(B));
});

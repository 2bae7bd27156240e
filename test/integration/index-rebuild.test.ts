import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { status } from '../../src/api/status.ts';
import { localReplica, syncPorts } from '../helpers/run.ts';
import { conflictCopies, readTree, replicaId, scratch, writeTree } from '../helpers/tree.ts';

// A replica whose index is gone (moved away after damage, as the INDEX_CORRUPT hint says, or
// deleted by hand) but whose marker stays: its version counters must not start over, or a file it
// changed meanwhile would look older than the version its peers already have from it.

test('a replica that lost its index: a file it changed meanwhile is a conflict, never overwritten', async (t) => {
  const d = scratch(t, 'rebuild');
  const [A, B] = [join(d, 'A'), join(d, 'B')];
  writeTree(A, { 'f.txt': 'v1', 'same.txt': 'untouched' });
  await syncPorts([localReplica(A), localReplica(B)]);
  fs.writeFileSync(join(B, 'f.txt'), 'v2 from B');
  await syncPorts([localReplica(A), localReplica(B)]);
  assert.equal(fs.readFileSync(join(A, 'f.txt'), 'utf8'), 'v2 from B');

  const id = replicaId(B);
  fs.renameSync(join(B, '.ferry', 'index'), join(d, 'index.moved'));
  fs.writeFileSync(join(B, 'f.txt'), 'v3 from B, made while its index was gone');
  const summary = await syncPorts([localReplica(A), localReplica(B)]);

  assert.equal(replicaId(B), id, 'the replica keeps its id: its peers still know it');
  assert.equal(summary.conflicts, 1, 'f.txt: v2 (peers) against v3 (B): both kept');
  for (const root of [A, B]) {
    const files = readTree(root);
    const texts = Object.values(files);
    assert.ok(texts.includes('v3 from B, made while its index was gone'), `${root} has B's latest edit`);
    assert.ok(texts.includes('v2 from B'), `${root} keeps the other version`);
    assert.equal(files['same.txt'], 'untouched', 'equal content is no conflict');
    assert.equal(conflictCopies(root).length, 1);
  }

  // Settled again: the next run has nothing to do.
  const again = await syncPorts([localReplica(A), localReplica(B)]);
  assert.equal(again.conflicts + again.copied + again.deleted + again.problems, 0);
});

test('a conflict copy of a version made after index loss is named by its replica id', async (t) => {
  const d = scratch(t, 'rebuild-name');
  const [A, B] = [join(d, 'A'), join(d, 'B')];
  writeTree(A, { 'f.txt': 'v1' });
  await syncPorts([localReplica(A), localReplica(B)]);
  const idB = replicaId(B);
  fs.rmSync(join(B, '.ferry', 'index'), { recursive: true });
  fs.writeFileSync(join(A, 'f.txt'), 'v2 from A');
  fs.writeFileSync(join(B, 'f.txt'), 'v2 from B');
  // The older mtime loses (core/winner.ts): B's version becomes the conflict copy.
  fs.utimesSync(join(B, 'f.txt'), new Date('2020-01-01'), new Date('2020-01-01'));
  const summary = await syncPorts([localReplica(A), localReplica(B)]);
  assert.equal(summary.conflicts, 1);
  const [copy, more] = conflictCopies(A);
  assert.equal(more, undefined);
  assert.match(copy ?? '', new RegExp(`-${idB}\\.txt$`), 'named by the replica, not its new vector key');
  const report = await status(A);
  assert.deepEqual(
    report.conflicts.map((c) => [c.madeBy, c.madeByLabel]),
    [[idB, B]],
    'status names the root that made it',
  );
});

test('a dry run over a replica that lost its index writes nothing', async (t) => {
  const d = scratch(t, 'rebuild-dry');
  const [A, B] = [join(d, 'A'), join(d, 'B')];
  writeTree(A, { 'f.txt': 'v1' });
  await syncPorts([localReplica(A), localReplica(B)]);
  fs.rmSync(join(B, '.ferry', 'index'), { recursive: true });
  const b = localReplica(B);
  await b.open({ create: false, readOnly: true });
  await b.scan({ ignore: [], dryRun: true });
  await b.close();
  assert.equal(fs.existsSync(join(B, '.ferry', 'index')), false, 'no index written by a dry run');
});

test('an index log with an unreadable end: later changes bump a new key, and the run converges', async (t) => {
  const d = scratch(t, 'rebuild-tail');
  const [A, B] = [join(d, 'A'), join(d, 'B')];
  writeTree(A, { 'f.txt': 'v1' });
  await syncPorts([localReplica(A), localReplica(B)]);
  // What a crash in the middle of an append leaves: bytes that are no complete frame.
  fs.appendFileSync(join(B, '.ferry', 'index', 'log.bin'), Buffer.from([7, 0, 0, 0, 1, 2, 3]));
  fs.writeFileSync(join(B, 'f.txt'), 'v2 from B');
  const b = localReplica(B);
  await b.open({ create: false, readOnly: false });
  const scanned = await b.scan({ ignore: [], dryRun: false });
  await b.close();
  const vv = scanned.entries.find((e) => e.path === 'f.txt')?.vv ?? {};
  const id = replicaId(B);
  const keys = Object.keys(vv).filter((k) => k !== replicaId(A));
  assert.equal(keys.length, 1);
  assert.notEqual(keys[0], id, 'the change is counted under a new key, not the replica id');
  await syncPorts([localReplica(A), localReplica(B)]);
  assert.equal(fs.readFileSync(join(A, 'f.txt'), 'utf8'), 'v2 from B');
  assert.deepEqual(conflictCopies(A), []);
});

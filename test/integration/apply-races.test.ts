import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { nodeFileSystem } from '../../src/adapters/node-fs.ts';
import { applyBatch } from '../../src/apply/apply-batch.ts';
import { type FileSystem, FsError } from '../../src/ports/filesystem.ts';
import { deleteOp, makeEnv, seenAs, writeOp } from '../helpers/apply.ts';
import { historyFiles, scratch } from '../helpers/tree.ts';

// An editor saves in the microseconds between ferry's last check of a path and the syscall that
// acts on it. Each test hooks the real filesystem so the save lands exactly there, once.

/** An editor's save: new bytes under a new inode, renamed over the path, as most editors write. */
function editorSave(abs: string, content: string): void {
  fs.writeFileSync(`${abs}.editor-tmp`, content);
  fs.renameSync(`${abs}.editor-tmp`, abs);
}

const codes = (replies: readonly { ok: boolean; problem?: { code: string } }[]) =>
  replies.map((r) => (r.ok ? 'ok' : r.problem?.code));

const tmpLeft = (root: string) => fs.readdirSync(join(root, '.ferry', 'tmp'));

test('a file saved at a new path just before ferry puts its file there is not overwritten', async (t) => {
  const root = scratch(t, 'race-new');
  const target = join(root, 'new.txt');
  let fired = false;
  const race = () => {
    if (fired) return;
    fired = true;
    editorSave(target, 'the user saved this first');
  };
  // Whichever call puts the file in place, the save lands right before it.
  const racing: FileSystem = {
    ...nodeFileSystem,
    async link(existing, newPath) {
      if (newPath === target) race();
      return nodeFileSystem.link(existing, newPath);
    },
    async rename(from, to) {
      if (to === target) race();
      return nodeFileSystem.rename(from, to);
    },
  };
  const { replies, changes } = await applyBatch(makeEnv(root, racing), [
    writeOp('new.txt', 'incoming', { kind: 'absent' }),
    writeOp('other.txt', 'lands as usual', { kind: 'absent' }),
  ]);
  assert.ok(fired, 'the save landed');
  assert.deepEqual(codes(replies), ['changed-during-sync', 'ok']);
  assert.deepEqual(
    changes.map((c) => c.path),
    ['other.txt'],
  );
  assert.equal(fs.readFileSync(target, 'utf8'), 'the user saved this first');
  assert.equal(fs.readFileSync(join(root, 'other.txt'), 'utf8'), 'lands as usual');
  assert.deepEqual(tmpLeft(root), [], 'no temp file left behind');
});

test('a save landing between the last check and the history link stays live; nothing is replaced', async (t) => {
  const root = scratch(t, 'race-replace');
  const [renamed, inPlace] = [join(root, 'renamed.txt'), join(root, 'in-place.txt')];
  fs.writeFileSync(renamed, 'scanned r');
  fs.writeFileSync(inPlace, 'scanned p');
  const ops = [
    writeOp('renamed.txt', 'incoming r', seenAs(renamed, 'renamed.txt', 'scanned r')),
    writeOp('in-place.txt', 'incoming p', seenAs(inPlace, 'in-place.txt', 'scanned p')),
  ];
  const history = join(root, '.ferry', 'history');
  const fired = new Set<string>();
  const racing: FileSystem = {
    ...nodeFileSystem,
    async link(existing, newPath) {
      // The history link of a replaced file: the save comes right before it.
      if (newPath.startsWith(history) && !fired.has(existing)) {
        fired.add(existing);
        if (existing === renamed) editorSave(renamed, 'saved again, new inode');
        else fs.appendFileSync(existing, ', then written in place');
      }
      return nodeFileSystem.link(existing, newPath);
    },
  };
  const { replies, changes } = await applyBatch(makeEnv(root, racing), ops);
  assert.equal(fired.size, 2, 'both saves landed');
  assert.deepEqual(codes(replies), ['changed-during-sync', 'changed-during-sync']);
  assert.deepEqual(changes, []);
  assert.equal(fs.readFileSync(renamed, 'utf8'), 'saved again, new inode');
  assert.equal(fs.readFileSync(inPlace, 'utf8'), 'scanned p, then written in place');
  assert.deepEqual(historyFiles(root), {}, 'history holds no link to a live file');
  assert.deepEqual(tmpLeft(root), []);
});

test('a save landing just before a deleted file moves into history is put back in place', async (t) => {
  const root = scratch(t, 'race-delete');
  const doomed = join(root, 'doomed.txt');
  fs.writeFileSync(doomed, 'scanned');
  const op = deleteOp(doomed, 'doomed.txt', 'scanned');
  let fired = false;
  const racing: FileSystem = {
    ...nodeFileSystem,
    async rename(from, to) {
      if (from === doomed && !fired) {
        fired = true;
        editorSave(doomed, 'saved while the delete ran');
      }
      return nodeFileSystem.rename(from, to);
    },
  };
  const { replies, changes } = await applyBatch(makeEnv(root, racing), [op]);
  assert.ok(fired);
  assert.deepEqual(codes(replies), ['changed-during-sync']);
  assert.deepEqual(changes, [], 'no deletion is recorded');
  assert.equal(fs.readFileSync(doomed, 'utf8'), 'saved while the delete ran');
  assert.deepEqual(historyFiles(root), {});
});

test('on a filesystem without hard links, files still land, replaced ones are copied to history first', async (t) => {
  const root = scratch(t, 'no-links');
  fs.writeFileSync(join(root, 'old.txt'), 'old version');
  fs.writeFileSync(join(root, 'taken.txt'), 'appeared after the scan');
  const noLinks: FileSystem = {
    ...nodeFileSystem,
    async link(existing) {
      throw new FsError('EPERM', existing, `EPERM: operation not permitted, link '${existing}'`);
    },
  };
  const { replies } = await applyBatch(makeEnv(root, noLinks), [
    writeOp('fresh.txt', 'new file', { kind: 'absent' }),
    writeOp('taken.txt', 'incoming', { kind: 'absent' }),
    writeOp('old.txt', 'new version', seenAs(join(root, 'old.txt'), 'old.txt', 'old version')),
  ]);
  assert.deepEqual(codes(replies), ['ok', 'changed-during-sync', 'ok']);
  assert.equal(fs.readFileSync(join(root, 'fresh.txt'), 'utf8'), 'new file');
  assert.equal(fs.readFileSync(join(root, 'taken.txt'), 'utf8'), 'appeared after the scan');
  assert.equal(fs.readFileSync(join(root, 'old.txt'), 'utf8'), 'new version');
  assert.deepEqual(historyFiles(root), { 'old.txt': ['old version'] });
  assert.deepEqual(tmpLeft(root), []);
});

test('a moved-aside save that cannot go back (the path is taken again) stays in history, and the problem says where', async (t) => {
  const root = scratch(t, 'race-delete-taken');
  const doomed = join(root, 'doomed.txt');
  fs.writeFileSync(doomed, 'scanned');
  const op = deleteOp(doomed, 'doomed.txt', 'scanned');
  const racing: FileSystem = {
    ...nodeFileSystem,
    async rename(from, to) {
      if (from === doomed) editorSave(doomed, 'first save');
      return nodeFileSystem.rename(from, to);
    },
    async link(existing, newPath) {
      if (newPath === doomed) editorSave(doomed, 'second save');
      return nodeFileSystem.link(existing, newPath);
    },
  };
  const { replies, changes } = await applyBatch(makeEnv(root, racing), [op]);
  const reply = replies[0];
  assert.ok(reply && !reply.ok);
  assert.equal(reply.problem.code, 'changed-during-sync');
  assert.match(reply.problem.message, /could not be put back: that version is in .*history/);
  assert.deepEqual(changes, []);
  assert.equal(fs.readFileSync(doomed, 'utf8'), 'second save');
  assert.deepEqual(historyFiles(root), { 'doomed.txt': ['first save'] });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodeFileSystem, sha256 } from '../../src/adapters/node-fs.ts';
import type { Entry } from '../../src/core/entry.ts';
import type { IndexRecord } from '../../src/ports/index-store.ts';
import { makeIgnore } from '../../src/scan/ignore.ts';
import { scanTree } from '../../src/scan/scan.ts';
import { sha256 as hashOf, scratch, writeTree } from '../helpers/tree.ts';

// Hints (IndexSnapshot.hints): what a killed run was about to write. The scan lends a hint's
// vector only to a path that holds exactly the hinted content; anything else is a change made here.

const rec = (entry: Entry): IndexRecord => ({ entry });

async function scan(root: string, previous: Map<string, IndexRecord>, hints: Map<string, IndexRecord>) {
  const out = await scanTree({
    fs: nodeFileSystem,
    root,
    replicaId: 'b',
    previous,
    hints,
    ignore: makeIgnore([]),
    newHasher: sha256,
    chunkThreshold: 1 << 20,
  });
  return new Map([...out.records].map(([p, r]) => [p, r.entry]));
}

test('a hint lends its vector only to the exact content it names', async (t) => {
  const root = scratch(t, 'hints');
  writeTree(root, { landed: 'new from A', other: 'edited here', made: { x: 'x' } });
  const old = (path: string): Entry => ({
    kind: 'file',
    path,
    vv: { a: 1 },
    size: 3,
    mtime: 0,
    exec: false,
    hash: hashOf('old'),
  });
  const previous = new Map<string, IndexRecord>([
    ['landed', rec(old('landed'))],
    ['other', rec(old('other'))],
    ['removed', rec(old('removed'))],
  ]);
  const planned = (path: string, text: string): Entry => ({
    kind: 'file',
    path,
    vv: { a: 2 },
    size: text.length,
    mtime: 0,
    exec: false,
    hash: hashOf(text),
  });
  const hints = new Map<string, IndexRecord>([
    ['landed', rec(planned('landed', 'new from A'))],
    ['other', rec(planned('other', 'what A sent, never landed'))],
    ['made', rec({ kind: 'dir', path: 'made', vv: { a: 2 } })],
    ['removed', rec({ kind: 'tombstone', path: 'removed', vv: { a: 2 } })],
  ]);
  const got = await scan(root, previous, hints);
  assert.deepEqual(got.get('landed')?.vv, { a: 2 }, 'the content the run wrote: its planned vector');
  assert.deepEqual(got.get('other')?.vv, { a: 1, b: 1 }, 'other content: an edit made here');
  assert.deepEqual(got.get('made')?.vv, { a: 2 }, 'the folder the run made');
  assert.deepEqual(got.get('removed'), { kind: 'tombstone', path: 'removed', vv: { a: 2 } });
  assert.deepEqual(got.get('made/x')?.vv, { b: 1 }, 'no hint: new here');
});

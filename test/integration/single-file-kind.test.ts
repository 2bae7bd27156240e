import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { LocalReplica } from '../../src/adapters/local-replica.ts';
import { nodeFileSystem, sha256 } from '../../src/adapters/node-fs.ts';
import { fileLayout } from '../../src/adapters/replica-layout.ts';
import { FerryError } from '../../src/core/errors.ts';
import { localReplica, syncPorts } from '../helpers/run.ts';
import { DIR, readTree, scratch, writeTree } from '../helpers/tree.ts';

// The engine's side of "a run is all folders or all files" (engine/open-roots.ts), on ports
// directly: a root the caller opened as a folder learns at open that the run is one of files, as
// a root on another host does (its agent cannot see the other roots).

const fileReplica = (file: string): LocalReplica =>
  new LocalReplica(file, fileLayout(file), { fs: nodeFileSystem, newHasher: sha256, now: Date.now });

test('a folder root that does not exist yet becomes the file another root is', async (t) => {
  const d = scratch(t, 'kind');
  process.env.XDG_STATE_HOME = join(d, 'state');
  writeTree(join(d, 'a'), { 'x.conf': 'one' });
  await syncPorts([fileReplica(join(d, 'a', 'x.conf')), localReplica(join(d, 'b', 'x.conf'))]);
  assert.deepEqual(readTree(join(d, 'b')), { 'x.conf': 'one' }, 'a file, not a folder with a .ferry');

  // The new file root is a replica like any other: opened as a file next time, an edit travels.
  fs.writeFileSync(join(d, 'b', 'x.conf'), 'two');
  await syncPorts([fileReplica(join(d, 'a', 'x.conf')), fileReplica(join(d, 'b', 'x.conf'))]);
  assert.equal(fs.readFileSync(join(d, 'a', 'x.conf'), 'utf8'), 'two');
});

test('an existing folder or another file name among file roots is refused before anything is written', async (t) => {
  const d = scratch(t, 'kind-bad');
  process.env.XDG_STATE_HOME = join(d, 'state');
  writeTree(join(d, 'a'), { 'x.conf': 'one' });
  writeTree(join(d, 'c'), { 'x.conf': { 'in.txt': 'a folder named like the file' } });
  const refused = (re: RegExp) => (e: unknown) =>
    e instanceof FerryError && e.code === 'USAGE' && re.test(e.message);
  await assert.rejects(
    syncPorts([fileReplica(join(d, 'a', 'x.conf')), localReplica(join(d, 'c', 'x.conf'))]),
    refused(/c\/x\.conf is a folder, but another root of this run is a single file/),
  );
  await assert.rejects(
    syncPorts([fileReplica(join(d, 'a', 'x.conf')), localReplica(join(d, 'n', 'y.conf'))]),
    refused(/single-file roots must have the same file name \(got x\.conf, y\.conf\)/),
  );
  assert.deepEqual(readTree(d), {
    a: DIR,
    'a/x.conf': 'one',
    c: DIR,
    'c/x.conf': DIR,
    'c/x.conf/in.txt': 'a folder named like the file',
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { nodeFileSystem, sha256 } from '../../src/adapters/node-fs.ts';
import { TempFile, treeSource } from '../../src/apply/temp-file.ts';
import type { FileEntry } from '../../src/core/entry.ts';
import type { FileSystem, WriteHandle } from '../../src/ports/filesystem.ts';
import { scratch } from '../helpers/tree.ts';

const MiB = 1 << 20;

function entryOf(data: Buffer): FileEntry {
  const h = sha256();
  h.update(data);
  return {
    kind: 'file',
    path: 'f.bin',
    vv: { a: 1 },
    size: data.length,
    mtime: 1_700_000_000_000,
    exec: false,
    hash: h.digest(),
  };
}

/** The node filesystem with each created file's flushes and close logged; a flush takes a while. */
function loggingFs(log: string[]): FileSystem {
  return {
    ...nodeFileSystem,
    async createExclusive(path, mode) {
      const h = await nodeFileSystem.createExclusive(path, mode);
      const flush = h.flush;
      const out: WriteHandle = {
        write: (d) => h.write(d),
        sync: () => h.sync(),
        close: async () => {
          log.push('close');
          await h.close();
        },
      };
      if (!flush) return out;
      return {
        ...out,
        flush: async () => {
          log.push('flush');
          await new Promise((r) => setTimeout(r, 20));
          await flush();
          log.push('flushed');
        },
      };
    },
  };
}

describe('TempFile', () => {
  it('hands a large file to the disk in the background while writing, and closes only after that', async (t) => {
    const dir = scratch(t, 'temp-flush');
    const data = randomBytes(100 * MiB + 7);
    const log: string[] = [];
    const tmp = await TempFile.create(loggingFs(log), join(dir, 't'), {
      newHasher: sha256,
      entry: entryOf(data),
    });
    for (let at = 0; at < data.length; at += 4 * MiB)
      await tmp.append([{ kind: 'data', data: data.subarray(at, at + 4 * MiB) }], treeSource(dir), sha256);
    assert.equal(await tmp.seal(entryOf(data), 'f.bin'), undefined);
    assert.ok(fs.readFileSync(join(dir, 't')).equals(data));
    assert.ok(log.filter((x) => x === 'flush').length >= 1, log.join(' '));
    // At most one flush at a time, and the handle is closed after the last one ended.
    let open = 0;
    for (const x of log) {
      if (x === 'flush') assert.equal(open++, 0, log.join(' '));
      if (x === 'flushed') open--;
    }
    assert.equal(log[log.length - 1], 'close');
    assert.equal(log.lastIndexOf('flushed') < log.indexOf('close'), true);
  });

  it('a small file is not flushed on its own', async (t) => {
    const dir = scratch(t, 'temp-small');
    const data = randomBytes(3 * MiB);
    const log: string[] = [];
    const tmp = await TempFile.create(loggingFs(log), join(dir, 't'), {
      newHasher: sha256,
      entry: entryOf(data),
    });
    await tmp.append([{ kind: 'data', data }], treeSource(dir), sha256);
    assert.equal(await tmp.seal(entryOf(data), 'f.bin'), undefined);
    assert.deepEqual(log, ['close']);
  });

  it('verifies a file that arrives as one buffer (one digest) as strictly as one in pieces', async (t) => {
    const dir = scratch(t, 'temp-once');
    assert.equal(typeof sha256.once, 'function', 'this Node has crypto.hash');
    const data = randomBytes(5000);
    const make = (name: string) =>
      TempFile.create(nodeFileSystem, join(dir, name), { newHasher: sha256, entry: entryOf(data) });
    const write = async (name: string, pieces: Buffer[]) => {
      const tmp = await make(name);
      await tmp.append(
        pieces.map((d) => ({ kind: 'data' as const, data: d })),
        treeSource(dir),
        sha256,
      );
      return tmp.seal(entryOf(data), 'f.bin');
    };
    assert.equal(await write('whole', [data]), undefined);
    assert.equal(await write('pieces', [data.subarray(0, 100), data.subarray(100)]), undefined);
    const flipped = Buffer.from(data);
    flipped[4999] = (flipped[4999] as number) ^ 1;
    assert.equal((await write('flipped', [flipped]))?.code, 'changed-during-sync');
    // The whole size in one buffer, then more: longer than the entry, refused.
    assert.equal((await write('longer', [data, Buffer.from('x')]))?.code, 'changed-during-sync');
    assert.ok(fs.readFileSync(join(dir, 'whole')).equals(data));
  });

  it('an empty file gets the empty digest with no bytes taken', async (t) => {
    const dir = scratch(t, 'temp-empty');
    const empty = Buffer.alloc(0);
    const tmp = await TempFile.create(nodeFileSystem, join(dir, 'e'), {
      newHasher: sha256,
      entry: entryOf(empty),
    });
    await tmp.append([], treeSource(dir), sha256);
    assert.equal(await tmp.seal(entryOf(empty), 'e'), undefined);
  });
});

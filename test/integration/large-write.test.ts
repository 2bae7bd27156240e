import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { offThreadSha256 } from '../../src/adapters/hash-worker.ts';
import { LocalReplica } from '../../src/adapters/local-replica.ts';
import { nodeFileSystem, sha256 } from '../../src/adapters/node-fs.ts';
import { ChunkHasher } from '../../src/chunking/chunk-hasher.ts';
import type { FileEntry } from '../../src/core/entry.ts';
import type { WriteOp } from '../../src/ports/replica.ts';
import { decode, encode } from '../../src/protocol/codec.ts';
import { clientMessage } from '../../src/protocol/validate.ts';
import { clientToWire } from '../../src/protocol/wire.ts';
import { scratch } from '../helpers/tree.ts';

const MiB = 1 << 20;

const replica = (root: string) =>
  new LocalReplica(
    root,
    { root, meta: join(root, '.ferry') },
    { fs: nodeFileSystem, newHasher: sha256, streamHasher: offThreadSha256, now: Date.now },
  );

function fileOf(data: Buffer, prefixes: boolean): FileEntry {
  const c = new ChunkHasher(sha256);
  c.push(data);
  const chunks = c.end().map((x) => ({ size: x.size, hash: prefixes ? x.hash.slice(0, 16) : x.hash }));
  return {
    kind: 'file',
    path: 'big.bin',
    vv: { a: 1 },
    size: data.length,
    mtime: 1_700_000_000_000,
    exec: false,
    hash: hashOf(data),
    chunks,
  };
}

function hashOf(data: Buffer): string {
  const h = sha256();
  h.update(data);
  return h.digest();
}

describe('large files written in several appends', () => {
  it('overlapping appends land in call order; a list with prefixes gives boundaries, hashes are computed', async (t) => {
    const root = join(scratch(t, 'large-write'), 'B');
    const data = randomBytes(40 * MiB + 4321);
    const entry = fileOf(data, true);
    const r = replica(root);
    await r.open({ create: true, readOnly: false });
    await r.scan({ ignore: [], dryRun: false });
    const op: WriteOp = { op: 'write', path: entry.path, entry, expect: { kind: 'absent' }, pieces: [] };
    await r.beginWrite(op);
    // Not awaited one by one: the engine reads the next window while one is being written.
    const parts = [0, 9, 17, 30, 40].map((m, i, all) =>
      data.subarray(m * MiB, i + 1 < all.length ? (all[i + 1] as number) * MiB : data.length),
    );
    await Promise.all(parts.map((p) => r.appendWrite(entry.path, [{ kind: 'data', data: p }])));
    const reply = await r.finishWrite(entry.path);
    assert.ok(reply.ok, JSON.stringify(reply));
    await r.finish({ dryRun: false, now: Date.now(), peers: {} });
    await r.close();
    assert.ok(fs.readFileSync(join(root, 'big.bin')).equals(data));

    const again = replica(root);
    await again.open({ create: false, readOnly: true });
    const { entries } = await again.scan({ ignore: [], dryRun: true });
    await again.close();
    const got = entries.find((e) => e.path === 'big.bin');
    // The replica's own hashes of its bytes in the sender's boundaries: full SHA-256 values.
    assert.deepEqual(got?.kind === 'file' ? got.chunks : undefined, fileOf(data, false).chunks);
  });

  it('a write that travels mostly whole brings its chunk table over the wire; others do not', () => {
    const entry = fileOf(randomBytes(3 * MiB), false);
    const op: WriteOp = { op: 'write', path: entry.path, entry, expect: { kind: 'absent' }, pieces: [] };
    const roundTrip = (o: WriteOp) => {
      const m = clientMessage(
        decode(encode(clientToWire({ type: 'req', id: 1, method: 'beginWrite', op: o }))),
      );
      assert.ok(m.type === 'req' && m.method === 'beginWrite');
      return m.op;
    };
    const listed = roundTrip({ ...op, withChunks: true });
    assert.equal(listed.withChunks, true);
    assert.deepEqual(
      listed.entry.chunks,
      entry.chunks?.map((c) => ({ size: c.size, hash: c.hash.slice(0, 16) })),
    );
    assert.equal(roundTrip(op).entry.chunks, undefined);
  });
});

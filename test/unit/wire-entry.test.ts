import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Chunk, FileEntry } from '../../src/core/entry.ts';
import { FerryError } from '../../src/core/errors.ts';
import { decode, encode } from '../../src/protocol/codec.ts';
import { encodeFrame } from '../../src/protocol/frame.ts';
import type { ServerMessage } from '../../src/protocol/messages.ts';
import { clientMessage, serverMessage } from '../../src/protocol/validate.ts';
import { LIMITS } from '../../src/protocol/validate-data.ts';
import { clientToWire, serverToWire } from '../../src/protocol/wire.ts';
import { CHUNK_ROW, chunkTableToWire, entryToWire, hashToWire } from '../../src/protocol/wire-entry.ts';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** A file as its own replica's scan sees it: full chunk hashes. */
function chunkedFile(n: number): FileEntry {
  const chunks: Chunk[] = Array.from({ length: n }, (_, i) => ({ size: 65536 + i, hash: sha(`c${i}`) }));
  const size = chunks.reduce((s, c) => s + c.size, 0);
  return {
    kind: 'file',
    path: 'big.bin',
    vv: { r1: 2 },
    size,
    mtime: 1.5,
    exec: false,
    hash: sha('all'),
    chunks,
  };
}

const scanRes = (entries: unknown[]) => ({
  type: 'res',
  id: 1,
  method: 'scan',
  ok: true,
  result: { entries, stats: entries.map(() => null), problems: [], unseen: [], hashedBytes: 0 },
});
const received = (entry: unknown) => {
  const m = serverMessage(decode(encode(scanRes([entry]))));
  assert.ok(m.type === 'res' && m.ok && m.method === 'scan');
  return m.result.entries[0];
};
const rejected = (text: RegExp) => (e: unknown) =>
  e instanceof FerryError && e.code === 'PROTOCOL' && text.test(e.message);

describe('entries on the wire', () => {
  it('scan results carry chunk lists as 12-byte rows: size and an 8-byte hash prefix', () => {
    const f = chunkedFile(3);
    const wire = entryToWire(f, true);
    assert.ok(wire.kind === 'file' && wire.chunks instanceof Uint8Array && wire.hash instanceof Uint8Array);
    assert.equal(wire.chunks.length, 3 * CHUNK_ROW);
    assert.equal(wire.hash.length, 32);
    const back = received(wire);
    assert.deepEqual(back, {
      ...f,
      chunks: f.chunks?.map((c) => ({ size: c.size, hash: c.hash.slice(0, 16) })),
    });
  });

  it('a 512 MiB file’s chunk list costs 12 bytes per chunk, a sixth of hex in maps', () => {
    const f = chunkedFile(8192);
    const binary = encode(serverToWire(scanRes([f]) as ServerMessage)).length;
    const hex = encode(scanRes([f])).length;
    assert.ok(binary < 8192 * CHUNK_ROW + 300, `${binary} bytes`);
    assert.ok(binary * 6 < hex, `binary ${binary}, hex ${hex}`);
  });

  it('entries sent to a replica carry no chunk list, and one a peer adds is ignored', () => {
    const f = chunkedFile(2);
    const op = { op: 'record' as const, path: f.path, entry: f };
    const wire = clientToWire({ type: 'req', id: 1, method: 'apply', ops: [op] }) as {
      ops: { entry: object }[];
    };
    assert.equal('chunks' in (wire.ops[0]?.entry ?? {}), false);
    const smuggled = { ...entryToWire(f, false), chunks: chunkTableToWire([{ size: 1, hash: sha('x') }]) };
    const m = clientMessage(
      decode(encode({ type: 'req', id: 1, method: 'apply', ops: [{ ...op, entry: smuggled }] })),
    );
    assert.ok(m.type === 'req' && m.method === 'apply');
    const { chunks: _, ...bare } = f;
    assert.deepEqual(m.ops[0], { ...op, entry: bare });
  });

  it('refuses hostile chunk tables and hashes', () => {
    const f = entryToWire(chunkedFile(2), true);
    assert.ok(f.kind === 'file' && f.chunks);
    const table = Buffer.from(f.chunks);
    const cases: [unknown, RegExp][] = [
      [{ ...f, chunks: table.subarray(0, 13) }, /not a whole number of 12-byte rows/],
      [{ ...f, chunks: 'ab'.repeat(12) }, /expected binary data/],
      [{ ...f, chunks: Buffer.concat([table, Buffer.alloc(12)]) }, /a chunk of 0 bytes/],
      [{ ...f, size: f.size + 1 }, /add up to 131073, not the file size 131074/],
      [
        { ...f, chunks: chunkTableToWire([{ size: 0xffffffff, hash: sha('x') }]), size: 0xffffffff + 5 },
        /add up to/,
      ],
      [{ ...f, hash: sha('x') }, /hash from peer: expected a SHA-256 as 32 bytes/],
      [{ ...f, hash: Buffer.alloc(33) }, /hash from peer: expected a SHA-256 as 32 bytes/],
    ];
    for (const [entry, text] of cases) assert.throws(() => received(entry), rejected(text), String(text));
    // The largest table is bounded before a single row is read.
    const huge = { ...f, chunks: new Uint8Array((LIMITS.chunks + 1) * CHUNK_ROW) };
    assert.throws(() => received(huge), rejected(/bytes, above the limit/));
  });

  it('hashes of reads and local pieces travel as bytes and come back as hex; pieces may omit them', () => {
    const h = sha('piece');
    const msg = {
      type: 'req' as const,
      id: 2,
      method: 'appendWrite' as const,
      path: 'big.bin',
      pieces: [
        { kind: 'local' as const, path: 'old.bin', offset: 0, length: 10, hash: h },
        { kind: 'local' as const, path: 'old.bin', offset: 10, length: 5_000_000 },
      ],
    };
    const wire = encode(clientToWire(msg));
    assert.ok(!wire.includes(Buffer.from(h)), 'no hex on the wire');
    assert.ok(wire.includes(Buffer.from(hashToWire(h))));
    assert.deepEqual(clientMessage(decode(wire)), msg);
    assert.throws(
      () => hashToWire('abc'),
      (e) => e instanceof FerryError && e.code === 'INTERNAL',
    );
    // A message cut inside its binary hash is refused as a whole.
    assert.throws(
      () => clientMessage(decode(encodeFrame(wire).subarray(4, 30))),
      (e) => e instanceof FerryError && e.code === 'PROTOCOL',
    );
  });
});

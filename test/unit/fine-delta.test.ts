import assert from 'node:assert/strict';
import { createCipheriv, createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { sha256 } from '../../src/adapters/node-fs.ts';
import { RemoteReplica } from '../../src/adapters/remote/rpc-client.ts';
import { serveReplica } from '../../src/adapters/remote/rpc-server.ts';
import { ChunkHasher } from '../../src/chunking/chunk-hasher.ts';
import { FINE_CHUNK_PARAMS } from '../../src/chunking/fastcdc.ts';
import type { Chunk, FileEntry } from '../../src/core/entry.ts';
import { FerryError } from '../../src/core/errors.ts';
import { FINE_MIN_BYTES, type FineCandidate, planFine, wantsFineDelta } from '../../src/engine/fine-delta.ts';
import type { ChunkListReply, ChunkListRequest } from '../../src/ports/replica.ts';
import { decode, encode } from '../../src/protocol/codec.ts';
import type { ServerMessage } from '../../src/protocol/messages.ts';
import { serverMessage } from '../../src/protocol/validate.ts';
import { serverToWire } from '../../src/protocol/wire.ts';
import { FINE_ROW, fineTable, fineTableToWire, MAX_FINE_ROWS } from '../../src/protocol/wire-fine.ts';
import { spyChunkLists } from '../helpers/ports.ts';
import { localReplica, syncPorts } from '../helpers/run.ts';
import { scratch } from '../helpers/tree.ts';

const sha = (s: string | Uint8Array) => createHash('sha256').update(s).digest('hex');

/** Incompressible bytes, the same in every run: chunk boundaries do not vary between runs. */
function bytesOf(size: number, seed: string): Buffer {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

/** The edit of the ssh 1% benchmark: 32 bytes overwritten in place, 64 appended. */
function edit(old: Buffer, at: number, seed: string): Buffer {
  const next = Buffer.concat([old, bytesOf(64, `${seed}:tail`)]);
  bytesOf(32, seed).copy(next, at);
  return next;
}

const fineChunks = (data: Uint8Array): Chunk[] => {
  const c = new ChunkHasher(sha256, FINE_CHUNK_PARAMS);
  c.push(data);
  return c.end();
};

const file = (size: number, hash: string, extra: Partial<FileEntry> = {}): FileEntry => ({
  kind: 'file',
  path: 'f.bin',
  vv: { r1: 1 },
  size,
  mtime: 1,
  exec: false,
  hash,
  ...extra,
});

const local = localReplica;

/** A folder served over an in-process byte stream, exactly as an agent serves it over ssh. */
function remote(root: string): RemoteReplica {
  const up = new PassThrough();
  const down = new PassThrough();
  void serveReplica(local(root), { input: up, output: down });
  return new RemoteReplica({ input: down, output: up }, { label: `far:${root}` });
}

describe('fine delta: the decision', () => {
  const next = file(20_000, sha('new'));
  const cand = (
    over: Partial<FineCandidate> = {},
    current: FileEntry | undefined = file(19_936, sha('old')),
  ) => ({
    put: { entry: next, current },
    source: { replica: 0, path: 'f.bin' },
    remoteBytes: next.size,
    ...over,
  });

  it('asks for lists only for a small file the target holds another version of, with a link', () => {
    assert.equal(wantsFineDelta(cand(), true), true);
    assert.equal(wantsFineDelta(cand(), false), false, 'two roots on this host: read the file whole');
    assert.equal(
      wantsFineDelta({ ...cand(), put: { entry: next, current: undefined } }, true),
      false,
      'nothing there yet',
    );
    assert.equal(wantsFineDelta(cand({}, file(19_936, sha('new'))), true), false, 'same content');
    assert.equal(wantsFineDelta(cand({ source: undefined }), true), false, 'no source');
    assert.equal(wantsFineDelta(cand({ remoteBytes: 0 }), true), false, 'found whole on the target');
    assert.equal(wantsFineDelta(cand({}, file(FINE_MIN_BYTES - 1, sha('old'))), true), false, 'tiny old');
    const tiny = {
      ...cand(),
      put: { entry: file(FINE_MIN_BYTES - 1, sha('new')), current: file(5000, sha('o')) },
    };
    assert.equal(wantsFineDelta({ ...tiny, remoteBytes: FINE_MIN_BYTES - 1 }, true), false, 'tiny new');
    const chunked = { ...cand(), put: { ...cand().put, entry: file(20_000, sha('new'), { chunks: [] }) } };
    assert.equal(wantsFineDelta(chunked, true), false, 'large files have their own chunk lists');
    const dir = { kind: 'dir' as const, path: 'f.bin', vv: {} };
    assert.equal(wantsFineDelta({ ...cand(), put: { entry: next, current: dir } }, true), false);
  });
});

describe('fine delta: piece planning', () => {
  it('an overwrite and an append: runs of the old file are copied, only changed chunks travel', () => {
    const old = bytesOf(16_000, 'plan');
    const next = edit(old, 7000, 'e1');
    const pieces = planFine(fineChunks(old), fineChunks(next), 'f.bin');
    const local = pieces.filter((p) => p.kind === 'local');
    const remote = pieces.filter((p) => p.kind === 'remote');
    assert.ok(local.length >= 2 && local.length <= 3, JSON.stringify(pieces));
    assert.ok(remote.length === 2, JSON.stringify(pieces));
    const sent = remote.reduce((n, p) => n + p.length, 0);
    assert.ok(sent < 3 * FINE_CHUNK_PARAMS.maxSize && sent >= 96, `${sent} bytes to send`);
    // The pieces rebuild the new file from the old one and the sent ranges, in order.
    let pos = 0;
    const rebuilt = Buffer.concat(
      pieces.map((p) => {
        const part =
          p.kind === 'local'
            ? old.subarray(p.offset, p.offset + p.length)
            : next.subarray(p.offset, p.offset + p.length);
        if (p.kind === 'remote') assert.equal(p.offset, pos);
        pos += p.length;
        return part;
      }),
    );
    assert.ok(rebuilt.equals(next));
    assert.ok(
      local.every((p) => p.kind === 'local' && p.byChunks && p.hash === undefined && p.path === 'f.bin'),
    );
  });

  it('matches by a 4-byte prefix and the size; adjacent pieces merge; nothing shared is one range', () => {
    const c = (size: number, hash: string): Chunk => ({ size, hash });
    const old = [c(100, 'aaaaaaaa11'), c(200, 'bbbbbbbb22'), c(300, 'cccccccc')];
    assert.deepEqual(
      planFine(old, [c(100, 'aaaaaaaa'), c(200, 'bbbbbbbbff'), c(50, 'dd'), c(60, 'ee')], 'p'),
      [
        { kind: 'local', path: 'p', offset: 0, length: 300, byChunks: true },
        { kind: 'remote', offset: 300, length: 110 },
      ],
    );
    // Same prefix, other size: no match. A chunk found out of order starts a new local piece.
    assert.deepEqual(planFine(old, [c(300, 'cccccccc'), c(101, 'aaaaaaaa'), c(100, 'aaaaaaaa')], 'p'), [
      { kind: 'local', path: 'p', offset: 300, length: 300, byChunks: true },
      { kind: 'remote', offset: 300, length: 101 },
      { kind: 'local', path: 'p', offset: 0, length: 100, byChunks: true },
    ]);
    assert.deepEqual(planFine(old, [c(10, 'x'), c(20, 'y')], 'p'), [
      { kind: 'remote', offset: 0, length: 30 },
    ]);
  });
});

describe('fine chunk lists on the wire', () => {
  it('travel as 6-byte rows (u16 size, 4-byte prefix) and come back as prefixes', () => {
    const chunks = fineChunks(bytesOf(20_000, 'wire'));
    const table = fineTableToWire(chunks);
    assert.equal(FINE_ROW, 6);
    assert.equal(table.length, chunks.length * 6);
    assert.deepEqual(
      fineTable(table, 't'),
      chunks.map((c) => ({ size: c.size, hash: c.hash.slice(0, 8) })),
    );
    const res: ServerMessage = {
      type: 'res',
      id: 1,
      method: 'chunkLists',
      ok: true,
      result: [{ ok: true, chunks }],
    };
    assert.deepEqual(serverMessage(decode(encode(serverToWire(res)))), {
      ...res,
      result: [{ ok: true, chunks: chunks.map((c) => ({ size: c.size, hash: c.hash.slice(0, 8) })) }],
    });
  });

  it('refuses hostile tables: partial rows, empty chunks, too many rows, not binary', () => {
    const protocol = (f: () => unknown) =>
      assert.throws(f, (e) => e instanceof FerryError && e.code === 'PROTOCOL');
    protocol(() => fineTable(new Uint8Array(7), 't'));
    protocol(() => fineTable(new Uint8Array(6), 't'));
    protocol(() => fineTable(new Uint8Array((MAX_FINE_ROWS + 1) * FINE_ROW).fill(1), 't'));
    protocol(() => fineTable('aaaa', 't'));
    const reply = (result: unknown) => () =>
      serverMessage({ type: 'res', id: 1, method: 'chunkLists', ok: true, result });
    protocol(reply([{ ok: true, chunks: [] }]));
    protocol(reply([{ ok: 'yes', chunks: new Uint8Array(0) }]));
    assert.throws(() => fineTableToWire([{ size: 70_000, hash: 'a'.repeat(64) }]), FerryError);
  });
});

describe('LocalReplica.chunkLists', () => {
  it('cuts the file as it is now, only while it has the expected hash', async (t) => {
    const d = scratch(t, 'fine-lists');
    const data = bytesOf(12_345, 'local');
    fs.writeFileSync(join(d, 'f.bin'), data);
    fs.symlinkSync('f.bin', join(d, 'link'));
    const r = local(d);
    const [ok, stale, gone, link] = await r.chunkLists([
      { path: 'f.bin', hash: sha(data) },
      { path: 'f.bin', hash: sha('other') },
      { path: 'nope', hash: sha(data) },
      { path: 'link', hash: sha(data) },
    ]);
    assert.deepEqual(ok, { ok: true, chunks: fineChunks(data) });
    assert.ok(ok?.ok && ok.chunks.every((c) => c.size <= FINE_CHUNK_PARAMS.maxSize && c.hash.length === 64));
    assert.equal(stale?.ok === false && stale.problem.code, 'changed-during-sync');
    assert.equal(gone?.ok, false);
    assert.equal(link?.ok, false, 'a symlink is never followed');
  });
});

describe('fine delta in a run', () => {
  /** Files of 1-40 KiB on A, synced to B; then edited on A like the ssh benchmark. */
  function setup(d: string, n: number) {
    const A = join(d, 'A');
    fs.mkdirSync(A);
    const old = Array.from({ length: n }, (_, i) => bytesOf(1500 + i * 4000, `f${i}`));
    for (const [i, b] of old.entries()) fs.writeFileSync(join(A, `f${i}.bin`), b);
    const next = old.map((b, i) => edit(b, Math.floor(b.length / 3), `e${i}`));
    return { A, B: join(d, 'B'), old, next };
  }

  it('to a root behind a link: one chunkLists call each way per batch, few bytes, same content', async (t) => {
    const d = scratch(t, 'fine-run');
    const { A, B, next } = setup(d, 10);
    assert.equal((await syncPorts([local(A), remote(B)])).problems, 0);
    for (const [i, b] of next.entries()) fs.writeFileSync(join(A, `f${i}.bin`), b);
    const logA: ChunkListRequest[][] = [];
    const logB: ChunkListRequest[][] = [];
    const s = await syncPorts([spyChunkLists(local(A), logA), spyChunkLists(remote(B), logB)]);
    assert.equal(s.problems, 0);
    assert.equal(s.copied, 10);
    for (const [i, b] of next.entries())
      assert.ok(fs.readFileSync(join(B, `f${i}.bin`)).equals(b), `f${i}.bin`);
    assert.equal(logA.length, 1);
    assert.equal(logB.length, 1);
    assert.equal(logB[0]?.length, 10);
    const total = next.reduce((n, b) => n + b.length, 0);
    assert.ok(s.bytesTransferred < total / 8, `${s.bytesTransferred} of ${total} sent`);
    assert.equal(s.bytesTransferred + s.bytesReused, total);
  });

  it('between two local roots: no lists at all, every edited file travels whole', async (t) => {
    const d = scratch(t, 'fine-local');
    const { A, B, next } = setup(d, 4);
    assert.equal((await syncPorts([local(A), local(B)])).problems, 0);
    for (const [i, b] of next.entries()) fs.writeFileSync(join(A, `f${i}.bin`), b);
    const log: ChunkListRequest[][] = [];
    const s = await syncPorts([spyChunkLists(local(A), log), spyChunkLists(local(B), log)]);
    assert.equal(s.problems, 0);
    assert.deepEqual(log, []);
    assert.equal(
      s.bytesTransferred,
      next.reduce((n, b) => n + b.length, 0),
    );
    assert.equal(s.bytesReused, 0);
  });

  it('a false match fails the whole-file check and the file is sent again whole', async (t) => {
    const d = scratch(t, 'fine-false');
    const { A, B, old } = setup(d, 3);
    assert.equal((await syncPorts([local(A), remote(B)])).problems, 0);
    // f1.bin: overwritten only, same size; B claims every chunk of the new content (a colliding
    // list). f0 and f2: the usual edit, honest lists.
    const forged = Buffer.from(old[1] as Buffer);
    bytesOf(32, 'forge').copy(forged, 100);
    const next = [edit(old[0] as Buffer, 50, 'x0'), forged, edit(old[2] as Buffer, 500, 'x2')];
    for (const [i, b] of next.entries()) fs.writeFileSync(join(A, `f${i}.bin`), b);
    const lie = (r: ChunkListReply, req: ChunkListRequest): ChunkListReply =>
      req.path === 'f1.bin'
        ? { ok: true, chunks: fineChunks(forged).map((c) => ({ ...c, hash: c.hash.slice(0, 8) })) }
        : r;
    const s = await syncPorts([local(A), spyChunkLists(remote(B), [], lie)]);
    assert.equal(s.problems, 0);
    assert.equal(s.copied, 3);
    for (const [i, b] of next.entries())
      assert.ok(fs.readFileSync(join(B, `f${i}.bin`)).equals(b), `f${i}.bin`);
    // f1 sent nothing the first time (all "found") and everything the second; it reuses nothing.
    const others = s.bytesTransferred - forged.length;
    assert.ok(
      others > 0 && others < ((next[0]?.length ?? 0) + (next[2]?.length ?? 0)) / 2,
      `${s.bytesTransferred} sent`,
    );
    assert.equal(s.bytesReused + others, (next[0]?.length ?? 0) + (next[2]?.length ?? 0));
    assert.deepEqual(fs.readdirSync(join(B, '.ferry', 'tmp')), [], 'no temp file left behind');
  });
});

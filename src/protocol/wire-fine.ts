import { Buffer } from 'node:buffer';
import type { Chunk } from '../core/entry.ts';
import { FerryError } from '../core/errors.ts';
import {
  CHUNK_LIST_MAX_FILE,
  type ChunkListReply,
  type ChunkListRequest,
  FINE_KEY_HEX,
} from '../ports/replica.ts';
import { bad, bool, bytes, get, hash, obj, problem, relPath } from './validate-data.ts';
import { hashToWire } from './wire-entry.ts';

/**
 * Fine chunk lists on the wire (`chunkLists`, protocol version 3): one binary table per file of
 * 6-byte rows, u16 size then the first 4 bytes of the chunk's SHA-256. Fine chunks are at most
 * 2 KiB (FINE_CHUNK_PARAMS), so a u16 holds any size. 4 bytes suffice because a prefix only
 * picks a candidate among the few dozen chunks of one old file: a false match makes the target's
 * whole-file check refuse the assembly, and the engine sends the file whole (engine/write-files.ts).
 */
export const FINE_KEY_BYTES = FINE_KEY_HEX / 2;
export const FINE_ROW = 2 + FINE_KEY_BYTES;
/** Rows one list may hold: a file of CHUNK_LIST_MAX_FILE cut into chunks of at least 64 bytes. */
export const MAX_FINE_ROWS = CHUNK_LIST_MAX_FILE / 64;
const MAX_FINE_SIZE = 0xffff;

export function fineTableToWire(chunks: readonly Chunk[]): Uint8Array {
  const out = Buffer.alloc(chunks.length * FINE_ROW);
  chunks.forEach((c, i) => {
    const at = i * FINE_ROW;
    if (c.size < 1 || c.size > MAX_FINE_SIZE)
      throw new FerryError('INTERNAL', `internal error (a bug in ferry): fine chunk of ${c.size} bytes`);
    out.writeUInt16BE(c.size, at);
    if (out.write(c.hash.slice(0, FINE_KEY_HEX), at + 2, FINE_KEY_BYTES, 'hex') !== FINE_KEY_BYTES) {
      throw new FerryError('INTERNAL', `internal error (a bug in ferry): bad chunk hash ${c.hash}`);
    }
  });
  return out;
}

/** Rows of a fine table: whole rows, no empty chunk, at most MAX_FINE_ROWS. */
export function fineTable(v: unknown, what: string): Chunk[] {
  const b = bytes(v, what, MAX_FINE_ROWS * FINE_ROW);
  if (b.length % FINE_ROW !== 0)
    bad(what, `${b.length} bytes is not a whole number of ${FINE_ROW}-byte rows`);
  const raw = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const out: Chunk[] = [];
  for (let at = 0; at < b.length; at += FINE_ROW) {
    const size = raw.readUInt16BE(at);
    if (size === 0) bad(`${what}[${at / FINE_ROW}]`, 'a chunk of 0 bytes');
    out.push({ size, hash: raw.toString('hex', at + 2, at + FINE_ROW) });
  }
  return out;
}

export const chunkListRequestToWire = (r: ChunkListRequest): unknown => ({ ...r, hash: hashToWire(r.hash) });

export const chunkListReplyToWire = (r: ChunkListReply): unknown =>
  r.ok ? { ok: true, chunks: fineTableToWire(r.chunks) } : r;

export function chunkListRequest(v: unknown, what: string): ChunkListRequest {
  const o = obj(v, what);
  return { path: relPath(get(o, 'path'), `${what}.path`), hash: hash(get(o, 'hash'), `${what}.hash`) };
}

/** The sizes are checked against the file's size by the engine, which knows it (fine-delta.ts). */
export function chunkListReply(v: unknown, what: string): ChunkListReply {
  const o = obj(v, what);
  return bool(get(o, 'ok'), `${what}.ok`)
    ? { ok: true, chunks: fineTable(get(o, 'chunks'), `${what}.chunks`) }
    : { ok: false, problem: problem(get(o, 'problem'), `${what}.problem`) };
}

import { Buffer } from 'node:buffer';
import { CHUNK_KEY_HEX, type Chunk, type Entry, type FileEntry, type LiveEntry } from '../core/entry.ts';
import { FerryError } from '../core/errors.ts';
import { byteLength } from '../core/path.ts';
import type { VersionVector } from '../core/vv.ts';
import {
  bad,
  bool,
  bytes,
  count,
  get,
  hash,
  LIMITS,
  num,
  type Obj,
  obj,
  optional,
  relPath,
  vector,
} from './validate-data.ts';

/**
 * Entries on the wire (protocol version 2). SHA-256 values travel as 32 bytes. A chunk list
 * travels only from a replica to the engine (scan results), as one binary table of 12-byte rows:
 * u32 size, then the first 8 bytes of the chunk's SHA-256. That prefix only picks candidate
 * chunks: every byte a receiver copies from its own disk is verified with the file's full SHA-256
 * before the file is renamed into place, so a prefix collision costs a retransfer, never wrong
 * content. Entries sent to a replica (apply ops) carry no chunk list, except the file of a write
 * that travels mostly whole (WriteOp.withChunks): the replica takes its boundaries and hashes its
 * own bytes in them (apply/temp-file.ts), so it records only hashes of its own bytes.
 */
export const CHUNK_KEY_BYTES = CHUNK_KEY_HEX / 2;
export const CHUNK_ROW = 4 + CHUNK_KEY_BYTES;

/** A file entry as msgpack carries it; other kinds travel unchanged. */
export type WireEntry = Exclude<Entry, FileEntry> | WireFileEntry;
export type WireFileEntry = Omit<FileEntry, 'hash' | 'chunks'> & {
  readonly hash: Uint8Array;
  readonly chunks?: Uint8Array;
};

export function hashToWire(hex: string): Uint8Array {
  const b = Buffer.from(hex, 'hex');
  if (b.length !== 32)
    throw new FerryError('INTERNAL', `internal error (a bug in ferry): bad SHA-256 ${hex}`);
  return b;
}

export function chunkTableToWire(chunks: readonly Chunk[]): Uint8Array {
  const out = Buffer.alloc(chunks.length * CHUNK_ROW);
  chunks.forEach((c, i) => {
    const at = i * CHUNK_ROW;
    out.writeUInt32BE(c.size, at);
    if (out.write(c.hash.slice(0, CHUNK_KEY_HEX), at + 4, CHUNK_KEY_BYTES, 'hex') !== CHUNK_KEY_BYTES) {
      throw new FerryError('INTERNAL', `internal error (a bug in ferry): bad chunk hash ${c.hash}`);
    }
  });
  return out;
}

/** `withChunks`: only scan results carry chunk lists (see above). */
export function entryToWire(e: Entry, withChunks: boolean): WireEntry {
  if (e.kind !== 'file') return e;
  const { chunks, hash: h, ...rest } = e;
  const out = { ...rest, hash: hashToWire(h) };
  return withChunks && chunks !== undefined ? { ...out, chunks: chunkTableToWire(chunks) } : out;
}

/** Rows of a chunk table; sizes must be positive and add up to the file's size exactly. */
function chunkTable(v: unknown, what: string, fileSize: number): Chunk[] {
  const b = bytes(v, what, LIMITS.chunks * CHUNK_ROW);
  if (b.length % CHUNK_ROW !== 0)
    bad(what, `${b.length} bytes is not a whole number of ${CHUNK_ROW}-byte rows`);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const raw = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const out: Chunk[] = [];
  let sum = 0;
  for (let at = 0; at < b.length; at += CHUNK_ROW) {
    const size = view.getUint32(at);
    if (size === 0) bad(`${what}[${at / CHUNK_ROW}]`, 'a chunk of 0 bytes');
    sum += size;
    out.push({ size, hash: raw.toString('hex', at + 4, at + CHUNK_ROW) });
  }
  if (sum !== fileSize) bad(what, `chunk sizes add up to ${sum}, not the file size ${fileSize}`);
  return out;
}

function fileEntry(o: Obj, path: string, vv: VersionVector, what: string, withChunks: boolean): FileEntry {
  const size = count(get(o, 'size'), `${what}.size`);
  const base = {
    kind: 'file' as const,
    path,
    vv,
    size,
    mtime: num(get(o, 'mtime'), `${what}.mtime`),
    exec: bool(get(o, 'exec'), `${what}.exec`),
    hash: hash(get(o, 'hash'), `${what}.hash`),
  };
  if (!withChunks) return base;
  const chunks = optional(get(o, 'chunks'), `${what}.chunks`, (x, w) => chunkTable(x, w, size));
  return chunks === undefined ? base : { ...base, chunks };
}

export function symlinkTarget(v: unknown, what: string): string {
  // Links are stored, never followed, so absolute targets and '..' are legitimate; NUL never is.
  if (typeof v !== 'string' || v.length === 0) bad(what, 'expected a non-empty link target');
  if (v.includes('\0')) bad(what, 'link target contains NUL');
  if (byteLength(v) > LIMITS.symlinkTarget)
    bad(what, `link target longer than ${LIMITS.symlinkTarget} bytes`);
  return v;
}

function anyEntry(v: unknown, what: string, withChunks: boolean): Entry {
  const o = obj(v, what);
  const kind = get(o, 'kind');
  const path = relPath(get(o, 'path'), `${what}.path`);
  const vv = vector(get(o, 'vv'), `${what}.vv`);
  switch (kind) {
    case 'file':
      return fileEntry(o, path, vv, what, withChunks);
    case 'dir':
      return { kind, path, vv };
    case 'tombstone':
      return { kind, path, vv };
    case 'symlink':
      return { kind, path, vv, target: symlinkTarget(get(o, 'target'), `${what}.target`) };
    default:
      return bad(`${what}.kind`, `unknown entry kind ${JSON.stringify(String(kind).slice(0, 40))}`);
  }
}

/** An entry sent to a replica: a chunk list, if any, is ignored (the replica computes its own). */
export const entry = (v: unknown, what: string): Entry => anyEntry(v, what, false);

/** An entry of a scan result, with its chunk table. */
export const scanEntry = (v: unknown, what: string): Entry => anyEntry(v, what, true);

/** The file of a write op that brings its chunk table (WriteOp.withChunks). */
export function listedFile(v: unknown, what: string): FileEntry {
  const e = anyEntry(v, what, true);
  if (e.kind !== 'file') bad(`${what}.kind`, 'expected file');
  return e;
}

/** An entry of one given kind (or one of the live kinds). */
export function entryOf<K extends Entry['kind']>(
  v: unknown,
  what: string,
  kinds: readonly K[],
): Extract<Entry, { kind: K }> {
  const e = entry(v, what);
  if (!(kinds as readonly string[]).includes(e.kind)) bad(`${what}.kind`, `expected ${kinds.join(' or ')}`);
  return e as Extract<Entry, { kind: K }>;
}

export const LIVE_KINDS = ['file', 'dir', 'symlink'] as const;
export const liveEntry = (v: unknown, what: string): LiveEntry => entryOf(v, what, LIVE_KINDS);

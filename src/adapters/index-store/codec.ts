import { Packr, RESET_BUFFER_MODE } from 'msgpackr';
import type { Chunk, Entry } from '../../core/entry.ts';
import { invariant } from '../../core/errors.ts';
import type { VersionVector } from '../../core/vv.ts';
import type { IndexChange, IndexRecord, ReplicaMeta } from '../../ports/index-store.ts';

/**
 * Payload encoding of the index files: msgpack with msgpackr's records (an object's key list is
 * written once per frame, then only values) and bundled strings (one UTF-8 decode per frame).
 * Decoding then yields the IndexRecord objects themselves, which is what keeps a 100k-entry load
 * in the tens of milliseconds. Record structures are defined inline in each frame (no shared
 * structure table), so every frame decodes on its own: a torn frame cannot break the others.
 *
 * Records are re-built field by field before packing, so only the Entry fields reach the disk, in a
 * fixed property order (fewer distinct structures), and optional fields are absent, not undefined.
 *
 * FORMAT IS ON DISK: add fields only as optional ones and bump FORMAT_VERSION for anything else.
 * Decoding checks shapes and reports damage by throwing ShapeError, never by guessing.
 */
export const FORMAT_VERSION = 1;
export const MAGIC = 'ferry-index';

/** Hints (log only): what an apply is about to write, for the scan after a crash (IndexSnapshot.hints). */
export const Kind = { Header: 0, Changes: 1, Meta: 2, End: 3, Hints: 4 } as const;

export type FileRole = 'snapshot' | 'log';

export class ShapeError extends Error {}

// msgpackr stores an own key '__proto__' as '__proto_', so decoded objects never get a new prototype.
const packr = new Packr({ useRecords: true, bundleStrings: true, mapsAsObjects: true });

export function pack(value: unknown): Buffer {
  return packr.pack(value);
}

/**
 * Packs into msgpackr's own buffer and returns a view that the next pack may overwrite: only for a
 * payload that is framed (copied) before anything else is packed. Spares a fresh buffer per frame.
 */
export function packTransient(value: unknown): Buffer {
  return packr.pack(value, RESET_BUFFER_MODE);
}

export function unpack(buf: Uint8Array): unknown {
  try {
    return packr.unpack(buf);
  } catch (e) {
    throw new ShapeError(`undecodable payload: ${(e as Error).message}`);
  }
}

function plainVv(vv: VersionVector): VersionVector {
  const out: Record<string, number> = {};
  for (const k in vv) out[k] = vv[k] as number;
  return out;
}

function plainEntry(e: Entry): Entry {
  const vv = plainVv(e.vv);
  switch (e.kind) {
    case 'file': {
      const base = {
        kind: e.kind,
        path: e.path,
        vv,
        size: e.size,
        mtime: e.mtime,
        exec: e.exec,
        hash: e.hash,
      };
      if (e.chunks === undefined) return base;
      return { ...base, chunks: e.chunks.map((c): Chunk => ({ size: c.size, hash: c.hash })) };
    }
    case 'symlink':
      return { kind: e.kind, path: e.path, vv, target: e.target };
    case 'dir':
    case 'tombstone':
      return { kind: e.kind, path: e.path, vv };
  }
}

/**
 * A Changes body: one item per change, the record itself to set a path (its key is entry.path),
 * or the bare path string to forget it.
 */
export function encodeChanges(changes: readonly IndexChange[]): unknown[] {
  const out: unknown[] = [];
  for (const { path, record } of changes) {
    if (record === null) {
      out.push(path);
      continue;
    }
    // The key is stored once; a record filed under another path than its entry's is a caller bug.
    invariant(record.entry.path === path, `index change for ${path} carries entry ${record.entry.path}`);
    const entry = plainEntry(record.entry);
    const s = record.stat;
    out.push(
      s === undefined
        ? { entry }
        : { entry, stat: { size: s.size, mtime: s.mtime, ctime: s.ctime, ino: s.ino } },
    );
  }
  return out;
}

const KINDS = new Set(['file', 'dir', 'symlink', 'tombstone']);

/**
 * Applies a decoded Changes body to `into`, in order: later changes win. A change also ends the
 * hint (`superseded`) for its path: the apply it announced was recorded.
 */
export function applyChanges(
  body: unknown,
  into: Map<string, IndexRecord>,
  superseded?: Map<string, IndexRecord>,
): void {
  if (!Array.isArray(body)) throw new ShapeError('changes are not a list');
  const hinted = superseded !== undefined && superseded.size > 0 ? superseded : undefined;
  for (const item of body as unknown[]) {
    if (typeof item === 'string') {
      into.delete(item);
      hinted?.delete(item);
      continue;
    }
    // A cheap spot check, not a full validation: the CRC already vouches for the bytes.
    const entry = (item as { entry?: { kind?: unknown; path?: unknown; vv?: unknown } } | null)?.entry;
    if (typeof entry?.path !== 'string' || !KINDS.has(entry.kind as string) || typeof entry.vv !== 'object') {
      throw new ShapeError('malformed record');
    }
    into.set(entry.path, item as IndexRecord);
    hinted?.delete(entry.path);
  }
}

export function encodeMeta(m: ReplicaMeta): unknown {
  const peers: Record<string, { label: string; lastSync: number }> = {};
  for (const [id, p] of Object.entries(m.peers)) peers[id] = { label: p.label, lastSync: p.lastSync };
  return {
    replicaId: m.replicaId,
    createdAt: m.createdAt,
    peers,
    ...(m.lastSync === undefined ? {} : { lastSync: m.lastSync }),
    ...(m.settled === undefined ? {} : { settled: m.settled }),
    ...(m.vvKey === undefined ? {} : { vvKey: m.vvKey }),
    ...(m.gen === undefined ? {} : { gen: m.gen }),
    ...(m.knownGens === undefined ? {} : { knownGens: { ...m.knownGens } }),
  };
}

export function decodeMeta(v: unknown): ReplicaMeta {
  const m = v as Partial<Record<keyof ReplicaMeta, unknown>> | null;
  if (
    typeof m?.replicaId !== 'string' ||
    typeof m.createdAt !== 'number' ||
    typeof m.peers !== 'object' ||
    m.peers === null ||
    !(m.lastSync === undefined || typeof m.lastSync === 'number') ||
    !(m.settled === undefined || typeof m.settled === 'string') ||
    !(m.vvKey === undefined || typeof m.vvKey === 'string') ||
    !(m.gen === undefined || typeof m.gen === 'number') ||
    !(m.knownGens === undefined || isCountRecord(m.knownGens))
  ) {
    throw new ShapeError('malformed replica metadata');
  }
  return m as ReplicaMeta;
}

function isCountRecord(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  return Object.values(v).every((n) => typeof n === 'number');
}

function num(v: unknown): number {
  if (typeof v !== 'number') throw new ShapeError('expected a number');
  return v;
}

export function headerPayload(role: FileRole, gen: number): Buffer {
  return pack([Kind.Header, MAGIC, FORMAT_VERSION, role, gen]);
}

/** The generation of a header payload, or throws ShapeError if it is not one of ours. */
export function readHeader(payload: Uint8Array, role: FileRole): number {
  const t = unpack(payload);
  if (!Array.isArray(t)) throw new ShapeError('not a ferry index file');
  if (t[0] !== Kind.Header || t[1] !== MAGIC) throw new ShapeError('not a ferry index file');
  if (t[2] !== FORMAT_VERSION)
    throw new ShapeError(`index format ${String(t[2])}, this ferry reads ${FORMAT_VERSION}`);
  if (t[3] !== role) throw new ShapeError(`a ${String(t[3])} file where a ${role} was expected`);
  return num(t[4]);
}

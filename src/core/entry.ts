import type { VersionVector } from './vv.ts';

/**
 * One path's state on one replica. A closed union on `kind`; `tombstone` records a deletion so
 * that "deleted here" can be told from "never seen here" (absent entry).
 * Paths are relative, '/'-separated, normalised (see path.ts) and never contain '.ferry'.
 */
export type Entry = FileEntry | DirEntry | SymlinkEntry | TombstoneEntry;
export type EntryKind = Entry['kind'];

interface EntryBase {
  readonly path: string;
  readonly vv: VersionVector;
}

/**
 * A chunk of a large file: content-defined boundaries, SHA-256 of the chunk's bytes (hex). A
 * replica's own lists hold the full 64 hex digits; lists received from another process carry only
 * the first CHUNK_KEY_HEX digits (protocol/wire-entry.ts), which serve to choose candidate chunks,
 * never to verify bytes.
 */
export interface Chunk {
  readonly size: number;
  readonly hash: string;
}

/** Hex digits of a chunk hash that identify it when looking for it elsewhere (8 bytes). */
export const CHUNK_KEY_HEX = 16;

export interface FileEntry extends EntryBase {
  readonly kind: 'file';
  readonly size: number;
  /** Milliseconds since the epoch with sub-millisecond fraction (as fs.Stats.mtimeMs). */
  readonly mtime: number;
  readonly exec: boolean;
  /** SHA-256 of the whole content, lower-case hex: what `sha256sum` prints. */
  readonly hash: string;
  /** Present for files at or above the chunking threshold; sizes sum to `size`. */
  readonly chunks?: readonly Chunk[];
}

export interface DirEntry extends EntryBase {
  readonly kind: 'dir';
}

export interface SymlinkEntry extends EntryBase {
  readonly kind: 'symlink';
  readonly target: string;
}

export interface TombstoneEntry extends EntryBase {
  readonly kind: 'tombstone';
}

export type LiveEntry = FileEntry | DirEntry | SymlinkEntry;

export function isLive(e: Entry | undefined): e is LiveEntry {
  return e !== undefined && e.kind !== 'tombstone';
}

/**
 * Same user-visible content: kind, bytes, exec bit, link target. mtime is not content: two
 * replicas holding the same bytes at different mtimes are in sync (as in Unison).
 */
export function sameContent(a: Entry, b: Entry): boolean {
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case 'file':
      return b.kind === 'file' && a.hash === b.hash && a.size === b.size && a.exec === b.exec;
    case 'symlink':
      return b.kind === 'symlink' && a.target === b.target;
    case 'dir':
    case 'tombstone':
      return true;
  }
}

/** Chunk offsets derived from sizes. */
export function chunkOffsets(chunks: readonly Chunk[]): number[] {
  const out: number[] = [];
  let off = 0;
  for (const c of chunks) {
    out.push(off);
    off += c.size;
  }
  return out;
}

import type { Entry, FileEntry } from '../core/entry.ts';
import { CHUNK_KEY_HEX, chunkOffsets } from '../core/entry.ts';
import { partialSource } from '../core/path.ts';
import type { PartialInfo } from '../ports/replica.ts';

export interface Located {
  readonly path: string;
  readonly offset: number;
  readonly size: number;
}

/**
 * Where content already sits in one replica, by whole-file hash and by chunk hash, so a receiver
 * copies from itself what it has (old version, renamed or copied file) and only the rest travels.
 * Chunks are found by the first CHUNK_KEY_HEX digits of their hash: that is all a replica behind a
 * link sends of its chunk lists (protocol/wire-entry.ts). A match is only a candidate; the target
 * verifies the assembled file against its full SHA-256, and write-files.ts sends the file whole
 * when that fails.
 */
export class ContentIndex {
  private readonly files = new Map<string, string>();
  private readonly chunks = new Map<string, Located>();
  private readonly partials = new Map<string, number>();

  /** `partials`: leading bytes the replica kept of interrupted transfers (ScanResult.partials). */
  constructor(entries: Iterable<Entry>, partials: readonly PartialInfo[] = []) {
    for (const p of partials) if (p.size > 0) this.partials.set(p.hash, p.size);
    for (const e of entries) {
      if (e.kind !== 'file' || e.size === 0) continue;
      if (!this.files.has(e.hash)) this.files.set(e.hash, e.path);
      if (e.chunks) {
        const offs = chunkOffsets(e.chunks);
        e.chunks.forEach((c, i) => {
          const key = c.hash.slice(0, CHUNK_KEY_HEX);
          if (!this.chunks.has(key))
            this.chunks.set(key, { path: e.path, offset: offs[i] ?? 0, size: c.size });
        });
      }
    }
  }

  wholeFile(hash: string): string | undefined {
    return this.files.get(hash);
  }

  /** A chunk whose hash starts like `hash` (full or prefix) and has the same size. */
  chunk(hash: string, size: number): Located | undefined {
    const at = this.chunks.get(hash.slice(0, CHUNK_KEY_HEX));
    return at?.size === size ? at : undefined;
  }

  /** Bytes this replica kept of an interrupted transfer of the file with this hash (0: none). */
  partial(hash: string): number {
    return this.partials.get(hash) ?? 0;
  }

  /** A file moved aside by a conflict rename is found at its new path. */
  moved(from: string, to: string, entry: Entry): void {
    if (entry.kind === 'file' && this.files.get(entry.hash) === from) this.files.set(entry.hash, to);
  }
}

/**
 * One piece of a planned file: copy from the target itself, or read from a source replica. A
 * `hash` is given only where it is a full SHA-256 the bytes can be checked against on the way;
 * `byChunks` marks copies chosen by chunk hash, which the final whole-file check may refuse.
 */
export type PiecePlan =
  | {
      readonly kind: 'local';
      readonly path: string;
      readonly offset: number;
      readonly length: number;
      readonly hash?: string;
      readonly byChunks: boolean;
    }
  | { readonly kind: 'remote'; readonly offset: number; readonly length: number; readonly hash?: string };

const fullHash = (h: string): { hash?: string } => (h.length === 64 ? { hash: h } : {});

/** Splits a file into pieces the target has and pieces that must travel. */
export function planPieces(f: FileEntry, local: ContentIndex): PiecePlan[] {
  if (f.size === 0) return [];
  const whole = local.wholeFile(f.hash);
  if (whole !== undefined) {
    return [{ kind: 'local', path: whole, offset: 0, length: f.size, hash: f.hash, byChunks: false }];
  }
  if (!f.chunks) return [{ kind: 'remote', offset: 0, length: f.size }];
  const offs = chunkOffsets(f.chunks);
  const out: PiecePlan[] = [];
  const resumed = resumeFrom(f, offs, local.partial(f.hash));
  if (resumed > 0) {
    // The kept prefix of an interrupted transfer, up to its last whole chunk so the rest of the
    // plan stays chunk-aligned. byChunks: a partial that does not verify falls back to whole.
    out.push({ kind: 'local', path: partialSource(f.hash), offset: 0, length: resumed, byChunks: true });
  }
  f.chunks.forEach((c, i) => {
    const offset = offs[i] ?? 0;
    if (offset < resumed) return;
    const at = local.chunk(c.hash, c.size);
    const prev = out[out.length - 1];
    if (at && prev?.kind === 'local' && prev.path === at.path && prev.offset + prev.length === at.offset) {
      // Adjacent chunks of one local file travel as one piece: a piece per chunk would cost
      // more on the wire than the chunk list (8,000 of them for a 512 MiB file).
      out[out.length - 1] = {
        kind: 'local',
        path: at.path,
        offset: prev.offset,
        length: prev.length + c.size,
        byChunks: true,
      };
    } else if (at) {
      out.push({
        kind: 'local',
        path: at.path,
        offset: at.offset,
        length: c.size,
        byChunks: true,
        ...fullHash(c.hash),
      });
    } else {
      out.push({ kind: 'remote', offset, length: c.size, ...fullHash(c.hash) });
    }
  });
  return out;
}

/** Bytes of a kept partial worth taking: the longest run of whole chunks it covers. */
function resumeFrom(f: FileEntry, offs: readonly number[], held: number): number {
  let upTo = 0;
  f.chunks?.forEach((c, i) => {
    const end = (offs[i] ?? 0) + c.size;
    if (end <= held) upTo = end;
  });
  return upTo;
}

/** Every byte from the source: the fallback when pieces chosen by chunk hash did not verify. */
export function transferAll(f: FileEntry): PiecePlan[] {
  if (f.size === 0) return [];
  if (!f.chunks) return [{ kind: 'remote', offset: 0, length: f.size }];
  const offs = chunkOffsets(f.chunks);
  return f.chunks.map((c, i) => ({
    kind: 'remote',
    offset: offs[i] ?? 0,
    length: c.size,
    ...fullHash(c.hash),
  }));
}

/** Whether a plan copies any chunk chosen by hash (prefix) rather than by whole-file hash. */
export const usesChunkMatches = (pieces: readonly PiecePlan[]): boolean =>
  pieces.some((p) => p.kind === 'local' && p.byChunks);

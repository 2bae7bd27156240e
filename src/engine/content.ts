import type { Entry, FileEntry } from '../core/entry.ts';
import { chunkOffsets } from '../core/entry.ts';

export interface Located {
  readonly path: string;
  readonly offset: number;
  readonly size: number;
}

/**
 * Where content already sits in one replica, by whole-file hash and by chunk hash, so a receiver
 * copies from itself what it has (old version, renamed or copied file) and only the rest travels.
 */
export class ContentIndex {
  private readonly files = new Map<string, string>();
  private readonly chunks = new Map<string, Located>();

  constructor(entries: Iterable<Entry>) {
    for (const e of entries) {
      if (e.kind !== 'file' || e.size === 0) continue;
      if (!this.files.has(e.hash)) this.files.set(e.hash, e.path);
      if (e.chunks) {
        const offs = chunkOffsets(e.chunks);
        e.chunks.forEach((c, i) => {
          if (!this.chunks.has(c.hash))
            this.chunks.set(c.hash, { path: e.path, offset: offs[i] ?? 0, size: c.size });
        });
      }
    }
  }

  wholeFile(hash: string): string | undefined {
    return this.files.get(hash);
  }

  chunk(hash: string): Located | undefined {
    return this.chunks.get(hash);
  }

  /** A file moved aside by a conflict rename is found at its new path. */
  moved(from: string, to: string, entry: Entry): void {
    if (entry.kind === 'file' && this.files.get(entry.hash) === from) this.files.set(entry.hash, to);
  }
}

/** One piece of a planned file: copy from the target itself, or read from a source replica. */
export type PiecePlan =
  | {
      readonly kind: 'local';
      readonly path: string;
      readonly offset: number;
      readonly length: number;
      readonly hash: string;
    }
  | { readonly kind: 'remote'; readonly offset: number; readonly length: number; readonly hash?: string };

/** Splits a file into pieces the target has and pieces that must travel. */
export function planPieces(f: FileEntry, local: ContentIndex): PiecePlan[] {
  if (f.size === 0) return [];
  const whole = local.wholeFile(f.hash);
  if (whole !== undefined) return [{ kind: 'local', path: whole, offset: 0, length: f.size, hash: f.hash }];
  if (!f.chunks) return [{ kind: 'remote', offset: 0, length: f.size }];
  const offs = chunkOffsets(f.chunks);
  return f.chunks.map((c, i) => {
    const at = local.chunk(c.hash);
    const offset = offs[i] ?? 0;
    return at
      ? { kind: 'local', path: at.path, offset: at.offset, length: c.size, hash: c.hash }
      : { kind: 'remote', offset, length: c.size, hash: c.hash };
  });
}

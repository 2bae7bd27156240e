import { checkChildName, joinRel, META_DIR } from '../core/path.ts';
import type { DirItem, FileSystem, FsStat, HasherFactory, StreamHasherFactory } from '../ports/filesystem.ts';
import type { IndexRecord } from '../ports/index-store.ts';
import { type HashedFile, hashFile } from './hash-file.ts';
import type { IgnoreMatcher } from './ignore.ts';
import { fileNeedsHash } from './stat-stamp.ts';

/**
 * An early look at a tree, taken while the run still waits for other roots (an ssh login, a far
 * agent loading its index): listings, stats, and the hashes of files whose stat moved since the
 * index. The scan that follows takes each item from here at most once instead of asking the
 * filesystem again, so its result is what a scan started at prefetch time would have seen.
 *
 * What must stay true: an earlier view is never a less safe one. Every stat handed out is a stat
 * the filesystem really returned; apply re-checks it before any replace or delete (I4), and a hash
 * is only reused for the very stat object it was taken with, so a file that changes meanwhile is
 * found by the next run, as a change after the scan always was. A miss (a path the prefetch
 * skipped, an error it saw) simply makes the scan ask the filesystem itself.
 */
export class ScanCache {
  readonly #dirs = new Map<string, DirItem[]>();
  readonly #stats = new Map<string, FsStat>();
  readonly #hashes = new Map<string, { readonly st: FsStat; readonly hashed: HashedFile }>();

  takeDir(rel: string): DirItem[] | undefined {
    const items = this.#dirs.get(rel);
    this.#dirs.delete(rel);
    return items;
  }

  takeStat(rel: string): FsStat | undefined {
    const st = this.#stats.get(rel);
    this.#stats.delete(rel);
    return st;
  }

  /** The hash taken for exactly this stat object (one takeStat handed out), if any. */
  takeHash(rel: string, st: FsStat): HashedFile | undefined {
    const got = this.#hashes.get(rel);
    this.#hashes.delete(rel);
    return got?.st === st ? got.hashed : undefined;
  }

  putDir(rel: string, items: DirItem[]): void {
    this.#dirs.set(rel, items);
  }

  putStat(rel: string, st: FsStat): void {
    this.#stats.set(rel, st);
  }

  putHash(rel: string, st: FsStat, hashed: HashedFile): void {
    this.#hashes.set(rel, { st, hashed });
  }
}

export interface PrefetchInput {
  readonly fs: FileSystem;
  readonly root: string;
  readonly previous: ReadonlyMap<string, IndexRecord>;
  /** The rules known so far (this root's own and the command line's); the scan's may differ. */
  readonly ignore: IgnoreMatcher;
  readonly newHasher: HasherFactory;
  readonly streamHasher?: StreamHasherFactory;
  readonly chunkThreshold: number;
  /** Checked at every pause: true ends the prefetch early (the replica is closing). */
  readonly stopped: () => boolean;
}

/** Bytes hashed between two pauses, so replies from other roots are read while this runs. */
const HASH_SLICE = 4 << 20;

const pause = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Walks the tree one folder at a time, pausing between folders and between slices of hashing so
 * the event loop keeps serving other roots. Never throws and never writes: whatever it could not
 * see is left for the scan.
 */
export async function prefetchTree(input: PrefetchInput): Promise<ScanCache> {
  const cache = new ScanCache();
  const toHash: { rel: string; st: FsStat }[] = [];
  const dirs = [''];
  const abs = (rel: string) => (rel === '' ? input.root : `${input.root}/${rel}`);
  while (dirs.length > 0) {
    await pause();
    if (input.stopped()) return cache;
    const rel = dirs.pop() as string;
    let items: DirItem[];
    try {
      items = input.fs.readdir(abs(rel));
    } catch {
      continue;
    }
    cache.putDir(rel, items);
    for (const item of items) {
      if (item.name === META_DIR) continue;
      const child = joinRel(rel, item.name);
      if (item.badName || checkChildName(item.name, child) !== undefined) continue;
      if (
        item.kind !== 'unknown' &&
        item.kind !== 'special' &&
        input.ignore.ignores(child, item.kind === 'dir')
      )
        continue;
      let st: FsStat;
      try {
        st = input.fs.lstat(abs(child));
      } catch {
        continue;
      }
      cache.putStat(child, st);
      if (st.kind === 'dir') dirs.push(child);
      else if (st.kind === 'file' && fileNeedsHash(input.previous.get(child), st))
        toHash.push({ rel: child, st });
    }
  }
  let slice = 0;
  for (const { rel, st } of toHash) {
    if (slice >= HASH_SLICE) {
      slice = 0;
      await pause();
    }
    if (input.stopped()) return cache;
    try {
      const hashed = await hashFile(input.fs, abs(rel), {
        newHasher: input.newHasher,
        chunkThreshold: input.chunkThreshold,
        sizeHint: st.size,
        ...(input.streamHasher ? { streamHasher: input.streamHasher } : {}),
      });
      cache.putHash(rel, st, hashed);
      slice += hashed.size;
    } catch {
      // Left for the scan, which reports it.
    }
  }
  return cache;
}

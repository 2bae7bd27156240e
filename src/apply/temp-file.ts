import { BackgroundChunkHasher, OFF_THREAD_MIN } from '../chunking/background-chunks.ts';
import { ChunkHasher, type Cutter } from '../chunking/chunk-hasher.ts';
import { Chunker } from '../chunking/fastcdc.ts';
import { GivenCuts } from '../chunking/given-chunks.ts';
import type { Chunk, Entry, FileEntry } from '../core/entry.ts';
import type { Problem } from '../core/problem.ts';
import {
  digestOf,
  type FileSystem,
  type Hasher,
  type HasherFactory,
  type StreamHasherFactory,
  type WriteHandle,
} from '../ports/filesystem.ts';
import type { Piece } from '../ports/replica.ts';

/** Local pieces may span a whole file: they are copied in blocks of this size, never whole. */
const BLOCK = 1 << 20;
/**
 * Every this many bytes written, a large file's data so far is handed to the disk in the
 * background (WriteHandle.flush), so the filesystem sync after the last byte does not wait for
 * all of it: a 512 MiB file left ~0.22 s of writeback for that sync here. At most one flush runs.
 */
const FLUSH_EVERY = 32 << 20;

/**
 * A file being assembled in `.ferry/tmp` (same filesystem as the root, so the final rename is
 * atomic: I2). Every byte is hashed on its way in; `seal` refuses a result whose SHA-256 is not
 * the entry's, so a changed source, a damaged piece or a chunk picked by a colliding hash prefix
 * never reaches the tree. A chunked file also gets the chunk list of its own bytes as they arrive
 * (see ChunkMode), never hashes a peer sent (protocol/wire-entry.ts).
 */
export class TempFile {
  /**
   * Hashing on this thread, or on another one for a large file (hashed: one of the two). Here, a
   * file that arrives as one buffer of its whole size gets one digest (`once`) and no hasher.
   */
  private readonly hashed:
    | { here: Hasher | undefined; once: string | undefined; readonly chunker: ChunkHasher | undefined }
    | { readonly background: BackgroundChunkHasher };
  private readonly newHasher: HasherFactory;
  private readonly size: number;
  private readonly chunks: ChunkMode;
  private written = 0;
  private flushedAt = 0;
  private flushing: Promise<void> | undefined;
  private computed: readonly Chunk[] | undefined;
  private constructor(
    private readonly fs: FileSystem,
    readonly tmpPath: string,
    private readonly handle: WriteHandle,
    opts: TempFileOptions,
  ) {
    this.chunks = opts.chunks ?? 'none';
    this.newHasher = opts.newHasher;
    this.size = opts.entry.size;
    const cutter = (): Cutter | undefined =>
      this.chunks === 'compute'
        ? new Chunker()
        : this.chunks === 'boundaries'
          ? new GivenCuts((opts.entry.chunks ?? []).map((c) => c.size))
          : undefined;
    const cut = cutter();
    this.hashed =
      opts.streamHasher && opts.entry.size >= OFF_THREAD_MIN
        ? {
            background: new BackgroundChunkHasher(opts.streamHasher({ chunks: cut !== undefined }), cut),
          }
        : { here: undefined, once: undefined, chunker: cut && new ChunkHasher(opts.newHasher, cut) };
  }

  static async create(fs: FileSystem, tmpPath: string, opts: TempFileOptions): Promise<TempFile> {
    return new TempFile(fs, tmpPath, await fs.createExclusive(tmpPath, opts.mode), opts);
  }

  /**
   * Appends pieces. A local piece is read from this replica; when it names a hash, its bytes must
   * have it. On a problem the file is unusable and the caller discards it.
   */
  async append(
    pieces: readonly Piece[],
    source: SourceResolver,
    newHasher: HasherFactory,
  ): Promise<Problem | undefined> {
    for (const piece of pieces) {
      if (piece.kind === 'data') {
        await this.take(piece.data);
        continue;
      }
      const check = piece.hash === undefined ? undefined : newHasher();
      let h: Awaited<ReturnType<FileSystem['openRead']>>;
      try {
        h = await this.fs.openRead(source(piece.path));
      } catch {
        // A source gone since the scan (or a partial dropped meanwhile): the file is sent whole.
        return localChanged(piece.path);
      }
      try {
        for (let done = 0; done < piece.length; ) {
          const data = await h.read(piece.offset + done, Math.min(BLOCK, piece.length - done));
          if (data.length === 0) return localChanged(piece.path);
          check?.update(data);
          await this.take(data);
          done += data.length;
        }
      } finally {
        await h.close();
      }
      if (check && check.digest() !== piece.hash) return localChanged(piece.path);
    }
    return undefined;
  }

  /** Hashes the bytes (here or on the other thread) and appends them to the file. */
  private async take(data: Uint8Array): Promise<void> {
    const h = this.hashed;
    if ('background' in h) await h.background.push(data);
    else if (
      h.chunker === undefined &&
      this.written === 0 &&
      data.length === this.size &&
      this.newHasher.once
    )
      h.once = this.newHasher.once(data);
    else {
      // Bytes after a `once` make the file longer than its entry: seal refuses it on its size.
      h.here ??= this.newHasher();
      h.here.update(data);
      h.chunker?.push(data);
    }
    await this.handle.write(data);
    this.written += data.length;
    if (this.handle.flush && !this.flushing && this.written - this.flushedAt >= FLUSH_EVERY) {
      this.flushedAt = this.written;
      // A failure here is no verdict: the sync before the rename reports real write errors.
      this.flushing = this.handle
        .flush()
        .catch(() => undefined)
        .finally(() => {
          this.flushing = undefined;
        });
    }
  }

  /** Closes the handle once a background flush of it is over. */
  private async closeHandle(): Promise<void> {
    await this.flushing;
    await this.handle.close();
  }

  get bytes(): number {
    return this.written;
  }

  /** Closes the file; returns a problem when the content is not exactly the entry's. */
  async seal(entry: FileEntry, rel: string): Promise<Problem | undefined> {
    await this.closeHandle();
    const h = this.hashed;
    const { hash, chunks } =
      'background' in h
        ? await h.background.end()
        : {
            hash: h.here?.digest() ?? h.once ?? digestOf(this.newHasher, new Uint8Array(0)),
            chunks: h.chunker?.end(),
          };
    if (this.written !== entry.size || hash !== entry.hash) {
      return {
        path: rel,
        code: 'changed-during-sync',
        message: 'received content does not match its hash (source changed during the run); not applied',
      };
    }
    this.computed = chunks;
    return undefined;
  }

  /** The sealed file's entry as this replica records it, with the chunk list chunkMode chose. */
  recorded(entry: FileEntry): FileEntry {
    const { chunks: theirs, ...rest } = entry;
    const chunks = this.chunks === 'adopt' ? theirs : this.computed;
    // Entries are immutable: a small file's record shares the source's object (100k copies of it
    // were ~10 MB of a 100k-file copy's peak).
    if (chunks === theirs) return entry;
    return chunks === undefined ? rest : { ...rest, chunks };
  }

  /** Closes the file and leaves it where it is (an interrupted transfer kept as a partial). */
  async keep(): Promise<void> {
    if ('background' in this.hashed) this.hashed.background.abort();
    try {
      await this.closeHandle();
    } catch {
      // already closed
    }
  }

  async discard(): Promise<void> {
    if ('background' in this.hashed) this.hashed.background.abort();
    try {
      await this.closeHandle();
    } catch {
      // already closed
    }
    try {
      await this.fs.unlink(this.tmpPath);
    } catch {
      // never created or already gone
    }
  }
}

export interface TempFileOptions {
  readonly newHasher: HasherFactory;
  /** The file being written: its size and, in 'boundaries' mode, its chunk sizes. */
  readonly entry: FileEntry;
  /** How the file's chunk list is obtained (see chunkMode); default 'none'. */
  readonly chunks?: ChunkMode;
  /** Hashes files from OFF_THREAD_MIN bytes on another thread; absent: all on this one. */
  readonly streamHasher?: StreamHasherFactory;
  /** The file's mode from the start (less the umask); absent: 0o600 until the caller's chmod. */
  readonly mode?: number;
}

/** Where a local piece's path is read from: the tree, or a replica's kept partial (core/path.ts). */
export type SourceResolver = (path: string) => string;

/** Tree paths only: a root without partials. */
export const treeSource =
  (root: string): SourceResolver =>
  (path) =>
    `${root}/${path}`;

/**
 * An entry for content already on this replica's disk (a record or a rename), as the replica
 * records it: its own chunk list for those bytes (`mine`, from its index), never the sender's.
 */
export function withOwnChunks<E extends Entry>(entry: E, mine: Entry | undefined): E {
  if (entry.kind !== 'file') return entry;
  const { chunks: _theirs, ...rest } = entry;
  const own =
    mine?.kind === 'file' && mine.hash === entry.hash && mine.size === entry.size ? mine.chunks : undefined;
  return (own === undefined ? rest : { ...rest, chunks: own }) as E;
}

/**
 * How a received file gets its chunk list: none below the threshold (as the scan decides it);
 * 'adopt' the entry's own list when it holds full SHA-256 values, which only a replica in this
 * process computed from its bytes (lists from another process carry 8-byte prefixes) and which
 * then describes the received bytes too once their whole-file hash matched; 'boundaries': take
 * the sizes of a list with prefixes (a sender behind a link, protocol/wire-entry.ts) and hash
 * each chunk of the received bytes, which skips the chunker, and a peer lying about boundaries
 * only makes later matches rarer; else 'compute' it (FastCDC and SHA-256) while the bytes arrive.
 */
export type ChunkMode = 'none' | 'compute' | 'adopt' | 'boundaries';

export function chunkMode(threshold: number | undefined, entry: FileEntry): ChunkMode {
  if (threshold === undefined || entry.size < threshold) return 'none';
  if (entry.chunks === undefined || entry.chunks.length === 0) return 'compute';
  return entry.chunks.every((c) => c.hash.length === 64) ? 'adopt' : 'boundaries';
}

function localChanged(path: string): Problem {
  return { path, code: 'changed-during-sync', message: 'local copy used as a source changed during the run' };
}

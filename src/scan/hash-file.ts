import { BackgroundChunkHasher, OFF_THREAD_MIN } from '../chunking/background-chunks.ts';
import { ChunkHasher } from '../chunking/chunk-hasher.ts';
import { Chunker } from '../chunking/fastcdc.ts';
import type { Chunk } from '../core/entry.ts';
import {
  digestOf,
  type FileSystem,
  type FsStat,
  type HasherFactory,
  type ReadHandle,
  type StreamHasherFactory,
} from '../ports/filesystem.ts';

const BLOCK = 1 << 20;
/** Read size when hashing on another thread: a fresh buffer per read moves to it without a copy. */
const BIG_BLOCK = 4 << 20;

/** Idle read buffers of BLOCK bytes (see here()). */
const scratches: Uint8Array[] = [];
const MAX_SCRATCHES = 4;

export interface HashedFile {
  readonly hash: string;
  readonly chunks?: readonly Chunk[];
  readonly size: number;
  /** The file's stat after reading; differs from the walk's stat when it changed meanwhile. */
  readonly after: FsStat;
}

interface HashOptions {
  readonly newHasher: HasherFactory;
  readonly chunkThreshold: number;
  readonly sizeHint: number;
  /** Hashes files from OFF_THREAD_MIN bytes on another thread while this one reads and cuts. */
  readonly streamHasher?: StreamHasherFactory;
}

/**
 * SHA-256 of the whole file and, at or above `chunkThreshold`, its content-defined chunks with a
 * SHA-256 each, in one pass over the bytes.
 */
export async function hashFile(fs: FileSystem, path: string, opts: HashOptions): Promise<HashedFile> {
  const h = await fs.openRead(path);
  try {
    const chunked = opts.sizeHint >= opts.chunkThreshold;
    const { hash, chunks, size } =
      opts.streamHasher && opts.sizeHint >= OFF_THREAD_MIN
        ? await offThread(
            h,
            opts.sizeHint,
            new BackgroundChunkHasher(
              opts.streamHasher({ chunks: chunked }),
              chunked ? new Chunker() : undefined,
            ),
          )
        : await here(h, opts.sizeHint, opts.newHasher, chunked);
    const after = await h.stat();
    return chunks ? { hash, chunks, size, after } : { hash, size, after };
  } finally {
    await h.close();
  }
}

type Hashed = { hash: string; chunks?: readonly Chunk[]; size: number };

// Both read exactly the size the walk saw (small files: one right-sized buffer); growth or
// shrinkage is caught by comparing the stat after reading.

async function here(
  h: ReadHandle,
  sizeHint: number,
  newHasher: HasherFactory,
  chunked: boolean,
): Promise<Hashed> {
  // Blocks are hashed and dropped, so they are read into a reused buffer: on a 100k-file tree a
  // fresh one per file was ~70 MB of garbage between collections. Files hashed at the same time
  // take different buffers.
  const scratch = scratches.pop() ?? new Uint8Array(BLOCK);
  if (!chunked && sizeHint <= BLOCK) {
    // One read, one digest: most files fit in a block (read() fills it up to EOF).
    try {
      const block = await h.read(0, sizeHint, scratch);
      return { hash: digestOf(newHasher, block), size: block.length };
    } finally {
      if (scratches.length < MAX_SCRATCHES) scratches.push(scratch);
    }
  }
  const whole = newHasher();
  const chunker = chunked ? new ChunkHasher(newHasher) : undefined;
  let pos = 0;
  try {
    while (pos < sizeHint) {
      const block = await h.read(pos, Math.min(BLOCK, sizeHint - pos), scratch);
      if (block.length === 0) break;
      whole.update(block);
      chunker?.push(block);
      pos += block.length;
    }
  } finally {
    if (scratches.length < MAX_SCRATCHES) scratches.push(scratch);
  }
  const chunks = chunker?.end();
  return chunks ? { hash: whole.digest(), chunks, size: pos } : { hash: whole.digest(), size: pos };
}

/** This thread reads and finds the chunk boundaries; the other one hashes. */
async function offThread(h: ReadHandle, sizeHint: number, bg: BackgroundChunkHasher): Promise<Hashed> {
  let pos = 0;
  try {
    while (pos < sizeHint) {
      const block = await h.read(pos, Math.min(BIG_BLOCK, sizeHint - pos));
      if (block.length === 0) break;
      pos += block.length;
      // The block is not touched again: its memory may move to the hashing thread.
      await bg.push(block, true);
    }
  } catch (e) {
    bg.abort();
    throw e;
  }
  const { hash, chunks } = await bg.end();
  return chunks ? { hash, chunks, size: pos } : { hash, size: pos };
}

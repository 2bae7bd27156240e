import { ChunkHasher } from '../chunking/chunk-hasher.ts';
import type { Chunk } from '../core/entry.ts';
import type { FileSystem, FsStat, HasherFactory } from '../ports/filesystem.ts';

const BLOCK = 1 << 20;

export interface HashedFile {
  readonly hash: string;
  readonly chunks?: readonly Chunk[];
  readonly size: number;
  /** The file's stat after reading; differs from the walk's stat when it changed meanwhile. */
  readonly after: FsStat;
}

/**
 * SHA-256 of the whole file and, at or above `chunkThreshold`, its content-defined chunks with a
 * SHA-256 each, in one pass over the bytes.
 */
export async function hashFile(
  fs: FileSystem,
  path: string,
  opts: { readonly newHasher: HasherFactory; readonly chunkThreshold: number; readonly sizeHint: number },
): Promise<HashedFile> {
  const h = await fs.openRead(path);
  try {
    const whole = opts.newHasher();
    const chunked = opts.sizeHint >= opts.chunkThreshold ? new ChunkHasher(opts.newHasher) : undefined;
    let pos = 0;
    // Read exactly the size the walk saw (small files: one right-sized buffer); growth or
    // shrinkage is caught by comparing the stat after reading.
    while (pos < opts.sizeHint) {
      const block = await h.read(pos, Math.min(BLOCK, opts.sizeHint - pos));
      if (block.length === 0) break;
      whole.update(block);
      chunked?.push(block);
      pos += block.length;
    }
    const after = await h.stat();
    const chunks = chunked?.end();
    return chunks
      ? { hash: whole.digest(), chunks, size: pos, after }
      : { hash: whole.digest(), size: pos, after };
  } finally {
    await h.close();
  }
}

import { Chunker } from '../chunking/fastcdc.ts';
import type { Chunk } from '../core/entry.ts';
import type { FileSystem, FsStat, Hasher, HasherFactory } from '../ports/filesystem.ts';

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

/** Feeds blocks to the chunker and hashes each chunk's bytes as its boundary is found. */
class ChunkHasher {
  private readonly chunker = new Chunker();
  private readonly chunks: Chunk[] = [];
  private current: Hasher;
  private currentSize = 0;
  constructor(private readonly newHasher: HasherFactory) {
    this.current = newHasher();
  }

  push(block: Uint8Array): void {
    let pos = 0;
    for (const len of this.chunker.push(block)) {
      const take = len - this.currentSize;
      this.current.update(block.subarray(pos, pos + take));
      pos += take;
      this.close(len);
    }
    if (pos < block.length) {
      this.current.update(block.subarray(pos));
      this.currentSize += block.length - pos;
    }
  }

  end(): Chunk[] {
    const last = this.chunker.end();
    if (last > 0) this.close(last);
    return this.chunks;
  }

  private close(len: number): void {
    this.chunks.push({ size: len, hash: this.current.digest() });
    this.current = this.newHasher();
    this.currentSize = 0;
  }
}

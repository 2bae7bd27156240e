import type { Chunk } from '../core/entry.ts';
import { Chunker, type ChunkParams, DEFAULT_CHUNK_PARAMS } from './fastcdc.ts';

/** What ChunkHasher needs of a hash function: the SHA-256 hasher of ports/filesystem.ts fits. */
export interface ChunkDigest {
  update(data: Uint8Array): void;
  /** Lower-case hex; the hasher is not used afterwards. */
  digest(): string;
}

/** Where a byte stream is cut: the FastCDC Chunker, or the sizes of a given list (given-chunks.ts). */
export interface Cutter {
  /** Feed the next block; returns the sizes of the chunks that end inside it, in order. */
  push(block: Uint8Array): number[];
  /** End of stream: the size of the last, not yet returned chunk (0: none). */
  end(): number;
}

/**
 * Feeds a byte stream to the chunker and hashes each chunk's bytes as its boundary is found. The
 * scan (a file on disk) and the apply (a file being assembled) both use it, so a receiver records
 * exactly the chunk list its own scan of the same bytes would compute. `cut`: FastCDC with these
 * sizes, or a Cutter that gives the boundaries.
 */
export class ChunkHasher {
  private readonly chunker: Cutter;
  private readonly chunks: Chunk[] = [];
  private current: ChunkDigest;
  private currentSize = 0;
  constructor(
    private readonly newHasher: () => ChunkDigest,
    cut: ChunkParams | Cutter = DEFAULT_CHUNK_PARAMS,
  ) {
    this.chunker = 'push' in cut ? cut : new Chunker(cut);
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

import type { Chunk } from '../core/entry.ts';
import { invariant } from '../core/errors.ts';
import type { Cutter } from './chunk-hasher.ts';

/**
 * SHA-256 of a stream and of chunks of it, computed elsewhere (another thread); the shape of
 * ports/filesystem.ts StreamHasher, repeated here because chunking imports no port.
 */
export interface BackgroundDigest {
  push(block: Uint8Array, cuts: readonly number[], give: boolean): Promise<void>;
  end(last: number): Promise<{ readonly hash: string; readonly chunks: readonly string[] }>;
  abort(): void;
}

/**
 * Streams from this size on are hashed on another thread: below it, starting the thread (~30 ms,
 * once per process) and its messages cost more than hashing here (~12 ms per 16 MiB).
 */
export const OFF_THREAD_MIN = 16 << 20;

/**
 * ChunkHasher's work split over two threads: this one finds the boundaries (a Cutter: FastCDC or
 * given sizes), the digest hashes the whole stream and every chunk elsewhere. Without a cutter,
 * only the whole stream is hashed.
 */
export class BackgroundChunkHasher {
  private readonly sizes: number[] = [];
  constructor(
    private readonly digest: BackgroundDigest,
    private readonly cutter: Cutter | undefined,
  ) {}

  /** `give`: the caller never touches `block` again, so its memory may move instead of being copied. */
  push(block: Uint8Array, give = false): Promise<void> {
    const cuts = this.cutter?.push(block) ?? [];
    for (const c of cuts) this.sizes.push(c);
    return this.digest.push(block, cuts, give);
  }

  /** The whole stream's SHA-256 and, with a cutter, its chunks. */
  async end(): Promise<{ hash: string; chunks?: Chunk[] }> {
    const last = this.cutter?.end() ?? 0;
    if (last > 0) this.sizes.push(last);
    const r = await this.digest.end(last);
    if (this.cutter === undefined) return { hash: r.hash };
    invariant(
      r.chunks.length === this.sizes.length,
      `${r.chunks.length} chunk hashes for ${this.sizes.length} chunks`,
    );
    return { hash: r.hash, chunks: this.sizes.map((size, i) => ({ size, hash: r.chunks[i] as string })) };
  }

  abort(): void {
    this.digest.abort();
  }
}

import type { Cutter } from './chunk-hasher.ts';

/**
 * Cuts a byte stream at the boundaries of a given list of chunk sizes: those of a list another
 * replica cut. A receiver hashing its bytes in these chunks skips the chunker, and the list it
 * records still names only hashes of its own bytes. Bytes past the last size belong to no chunk;
 * `end` returns the bytes of an unfinished chunk (0 when the stream ended on a boundary).
 */
export class GivenCuts implements Cutter {
  private next = 0;
  /** Bytes of the current chunk seen so far. */
  private held = 0;

  constructor(private readonly sizes: readonly number[]) {}

  push(block: Uint8Array): number[] {
    const out: number[] = [];
    let left = block.length;
    while (left > 0 && this.next < this.sizes.length) {
      const size = this.sizes[this.next] as number;
      const take = Math.min(size - this.held, left);
      this.held += take;
      left -= take;
      if (this.held === size) {
        out.push(size);
        this.next++;
        this.held = 0;
      }
    }
    return out;
  }

  end(): number {
    const last = this.held;
    this.held = 0;
    return last;
  }
}

import { FerryError } from '../core/errors.ts';
import { GEAR } from './gear.ts';

/**
 * Content-defined chunking, FastCDC family (Xia et al. 2016/2020): a gear rolling hash
 * `h = (h << 1) + GEAR[byte]`, cut-point skipping below `minSize`, and normalized chunking with a
 * strict mask (more bits, rarer cuts) before `avgSize` and a loose mask (fewer bits) after it,
 * which narrows the size distribution around `avgSize`.
 *
 * What must stay true:
 * - Boundaries depend only on the bytes, never on how the stream is split into blocks: the whole
 *   state between pushes is (bytes in the current chunk, hash), and the hash restarts at 0 at
 *   every cut.
 * - The masks test the HIGH bits of the 32-bit hash: bit k of h depends on the last k+1 bytes, so
 *   the high bits see a 32-byte window, and an edit only disturbs the cut points near it.
 * - Boundaries are a stable format (see gear.ts): changing the table, the masks or the skipping
 *   rule changes every chunk hash ever stored.
 */

export interface ChunkParams {
  readonly minSize: number;
  readonly avgSize: number;
  readonly maxSize: number;
}

export const DEFAULT_CHUNK_PARAMS: ChunkParams = Object.freeze({
  minSize: 16 * 1024,
  avgSize: 64 * 1024,
  maxSize: 256 * 1024,
});

/**
 * Fine chunks for small edited files (engine/fine-delta.ts): cut on demand, never stored. Measured
 * on files of 0.5-64 KiB with 32 bytes overwritten and 64 appended: 64/256/2048 sends ~660 B per
 * file plus a 6-byte row per chunk of the old version (~100 KB both ways for 100 such files);
 * 256/1024/8192 sends ~1.7 KB per file (~180 KB). Sizes stay below 64 KiB (u16 rows on the wire).
 */
export const FINE_CHUNK_PARAMS: ChunkParams = Object.freeze({
  minSize: 64,
  avgSize: 256,
  maxSize: 2048,
});

/** Normalization level 2 of the FastCDC paper: masks of bits+2 and bits-2. */
const NORMALIZATION = 2;

/** Mask of the top `bits` bits of a 32-bit word, as int32. */
function topBitsMask(bits: number): number {
  return bits <= 0 ? 0 : (-1 << (32 - bits)) | 0;
}

function checkParams(p: ChunkParams): void {
  const ok =
    Number.isSafeInteger(p.minSize) &&
    Number.isSafeInteger(p.avgSize) &&
    Number.isSafeInteger(p.maxSize) &&
    p.minSize >= 1 &&
    p.avgSize >= 64 &&
    p.avgSize <= 2 ** 28 &&
    p.minSize <= p.avgSize &&
    p.avgSize <= p.maxSize;
  if (!ok) {
    throw new FerryError(
      'USAGE',
      `invalid chunk sizes min=${p.minSize} avg=${p.avgSize} max=${p.maxSize}: need integers with 1 <= min <= avg <= max and 64 <= avg <= 256 MiB`,
    );
  }
}

export class Chunker {
  readonly #min: number;
  readonly #avg: number;
  readonly #max: number;
  readonly #maskS: number;
  readonly #maskL: number;
  /** Bytes of the current, not yet cut chunk seen so far. */
  #pos = 0;
  /** Rolling hash; only meaningful once #pos >= #min. */
  #h = 0;

  constructor(params: ChunkParams = DEFAULT_CHUNK_PARAMS) {
    checkParams(params);
    this.#min = params.minSize;
    this.#avg = params.avgSize;
    this.#max = params.maxSize;
    const bits = Math.round(Math.log2(params.avgSize));
    this.#maskS = topBitsMask(bits + NORMALIZATION);
    this.#maskL = topBitsMask(bits - NORMALIZATION);
  }

  /** Feed the next block of the stream; returns the lengths of chunks completed by it (in order). */
  push(block: Uint8Array): number[] {
    const out: number[] = [];
    const gear = GEAR;
    const n = block.length;
    const min = this.#min;
    const avg = this.#avg;
    const max = this.#max;
    let pos = this.#pos;
    let h = this.#h;
    let i = 0;
    while (i < n) {
      if (pos < min) {
        // Cut-point skipping: no cut can fall here, so these bytes are not even hashed.
        const k = Math.min(min - pos, n - i);
        pos += k;
        i += k;
        continue;
      }
      // Strict mask until avgSize, loose mask until maxSize.
      const normal = pos < avg;
      const mask = normal ? this.#maskS : this.#maskL;
      const limit = normal ? avg : max;
      const end = i + Math.min(limit - pos, n - i);
      let j = i;
      let found = false;
      while (j < end) {
        h = ((h << 1) + (gear[block[j] as number] as number)) | 0;
        j++;
        if ((h & mask) === 0) {
          found = true;
          break;
        }
      }
      pos += j - i;
      i = j;
      if (found || pos === max) {
        out.push(pos);
        pos = 0;
        h = 0;
      }
    }
    this.#pos = pos;
    this.#h = h;
    return out;
  }

  /** End of stream: the length of the last (possibly short) chunk, or 0 when nothing is pending. */
  end(): number {
    const last = this.#pos;
    this.#pos = 0;
    this.#h = 0;
    return last;
  }
}

/** Convenience: cut points of a whole buffer as chunk lengths. */
export function chunkLengths(data: Uint8Array, params: ChunkParams = DEFAULT_CHUNK_PARAMS): number[] {
  const c = new Chunker(params);
  const out = c.push(data);
  const last = c.end();
  if (last > 0) out.push(last);
  return out;
}

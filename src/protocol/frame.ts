import { Buffer } from 'node:buffer';
import { FerryError } from '../core/errors.ts';

/**
 * Length-prefixed frames: a u32 big-endian payload length, then the payload. The length is checked
 * against a bound as soon as the 4 header bytes are in, so a hostile peer announcing 4 GiB costs
 * nothing: no allocation is ever sized from a header, bytes are only kept as they actually arrive.
 */
export const HEADER_BYTES = 4;
export const DEFAULT_MAX_FRAME = 64 * 1024 * 1024;

export interface FrameOptions {
  /** Largest payload accepted (and produced), in bytes. */
  readonly maxFrame?: number;
}

/** Header + payload as one buffer. Refuses a payload the peer would reject anyway. */
export function encodeFrame(payload: Uint8Array, opts: FrameOptions = {}): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  out.set(frameHeader(payload.length, opts), 0);
  out.set(payload, HEADER_BYTES);
  return out;
}

/** Just the header of a frame, for a payload written after it as it is (no copy). */
export function frameHeader(length: number, opts: FrameOptions = {}): Buffer {
  const max = opts.maxFrame ?? DEFAULT_MAX_FRAME;
  if (length > max) {
    throw new FerryError('PROTOCOL', `message of ${length} bytes exceeds the ${max}-byte frame limit`);
  }
  const out = Buffer.allocUnsafe(HEADER_BYTES);
  out.writeUInt32BE(length, 0);
  return out;
}

/**
 * Push bytes in as they arrive, get complete payloads out. Invariants: at most maxFrame + 4 bytes
 * are held between pushes; after a push throws, the decoder is poisoned and every later push
 * throws too (the stream is out of sync and nothing after the bad header can be trusted).
 * Payloads may share memory with the pushed chunks: callers must not mutate a chunk after pushing.
 */
export class FrameDecoder {
  readonly #max: number;
  /** Bytes of the current incomplete frame (header included), in arrival order. */
  #parts: Buffer[] = [];
  #held = 0;
  /** Payload length of the frame being assembled, once its header is complete. */
  #need: number | undefined;
  #failed: FerryError | undefined;

  constructor(opts: FrameOptions = {}) {
    const max = opts.maxFrame ?? DEFAULT_MAX_FRAME;
    if (!Number.isSafeInteger(max) || max < 0 || max > 0xffffffff) {
      throw new FerryError('INTERNAL', `internal error (a bug in ferry): bad frame limit ${max}`);
    }
    this.#max = max;
  }

  /** Bytes currently held for an incomplete frame; never above maxFrame + 4. */
  get buffered(): number {
    return this.#held;
  }

  push(chunk: Uint8Array): Buffer[] {
    if (this.#failed) throw this.#failed;
    const out: Buffer[] = [];
    let buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (buf.length > 0) {
      if (this.#need === undefined) {
        // Still collecting the header: take just enough bytes to complete it.
        const take = Math.min(HEADER_BYTES - this.#held, buf.length);
        this.#keep(buf.subarray(0, take));
        buf = buf.subarray(take);
        if (this.#held < HEADER_BYTES) break;
        const header = this.#parts.length === 1 ? (this.#parts[0] as Buffer) : Buffer.concat(this.#parts);
        const len = header.readUInt32BE(0);
        if (len > this.#max) {
          this.#parts = [];
          this.#held = 0;
          this.#failed = new FerryError(
            'PROTOCOL',
            `peer announced a ${len}-byte message, above the ${this.#max}-byte limit`,
          );
          throw this.#failed;
        }
        this.#parts = [];
        this.#held = 0;
        this.#need = len;
      }
      const need = this.#need;
      const missing = need - this.#held;
      if (this.#held === 0 && buf.length >= need) {
        // Whole payload inside this chunk: no copy.
        out.push(buf.subarray(0, need));
        buf = buf.subarray(need);
        this.#need = undefined;
        continue;
      }
      const take = Math.min(missing, buf.length);
      this.#keep(buf.subarray(0, take));
      buf = buf.subarray(take);
      if (this.#held === need) {
        out.push(this.#parts.length === 1 ? (this.#parts[0] as Buffer) : Buffer.concat(this.#parts, need));
        this.#parts = [];
        this.#held = 0;
        this.#need = undefined;
      }
    }
    return out;
  }

  /** Copy slices of bigger chunks so a few kept bytes never pin a large buffer in memory. */
  #keep(part: Buffer): void {
    if (part.length === 0) return;
    this.#parts.push(part.length === part.buffer.byteLength ? part : Buffer.from(part));
    this.#held += part.length;
  }
}

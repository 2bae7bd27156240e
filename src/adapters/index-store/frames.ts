import * as zlib from 'node:zlib';

/**
 * Record framing shared by snapshot.bin and log.bin: `u32 length | u32 crc | payload`, both
 * little-endian. The CRC covers the 4 length bytes and then the payload, so a damaged length is
 * caught too, and a run of zero bytes (what some filesystems leave after a crash that extended a
 * file) never reads as a valid frame. Empty payloads are never written, so length 0 is damage.
 */
export const FRAME_HEADER_BYTES = 8;
/** Far above any frame we write (batches are bounded); a larger length is damage, not data. */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

type Crc32 = (data: Uint8Array, value?: number) => number;

let table: Uint32Array | undefined;
/** Table CRC-32 (IEEE), for Node 20 releases before zlib.crc32 (20.15): the agent runs anywhere. */
function tableCrc32(data: Uint8Array, value = 0): number {
  if (table === undefined) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = ~value >>> 0;
  for (let i = 0; i < data.length; i++) {
    crc = ((table[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8)) >>> 0;
  }
  return ~crc >>> 0;
}

const native = (zlib as { crc32?: Crc32 }).crc32;
export const crc32: Crc32 = typeof native === 'function' ? native : tableCrc32;
export { tableCrc32 as crc32Portable };

function frameCrc(buf: Uint8Array, lenAt: number, payloadStart: number, payloadEnd: number): number {
  return crc32(buf.subarray(payloadStart, payloadEnd), crc32(buf.subarray(lenAt, lenAt + 4)));
}

/** Frames every payload into one buffer, ready for a single write. */
export function framePayloads(payloads: readonly Uint8Array[]): Buffer {
  let total = 0;
  for (const p of payloads) total += FRAME_HEADER_BYTES + p.length;
  const out = Buffer.allocUnsafe(total);
  let off = 0;
  for (const p of payloads) {
    if (p.length === 0 || p.length > MAX_FRAME_BYTES) throw new RangeError(`frame of ${p.length} bytes`);
    out.writeUInt32LE(p.length, off);
    out.set(p, off + FRAME_HEADER_BYTES);
    out.writeUInt32LE(
      frameCrc(out, off, off + FRAME_HEADER_BYTES, off + FRAME_HEADER_BYTES + p.length),
      off + 4,
    );
    off += FRAME_HEADER_BYTES + p.length;
  }
  return out;
}

/**
 * Frames one payload at a time into a buffer it keeps: the returned view is valid until the next
 * call. For writers that write each frame before framing the next (an index append of 100k
 * changes framed ~55 MB of fresh buffers that lived until the next full GC).
 */
export class FrameScratch {
  #buf = Buffer.allocUnsafe(64 * 1024);

  frame(payload: Uint8Array): Buffer {
    if (payload.length === 0 || payload.length > MAX_FRAME_BYTES) {
      throw new RangeError(`frame of ${payload.length} bytes`);
    }
    const total = FRAME_HEADER_BYTES + payload.length;
    if (this.#buf.length < total) this.#buf = Buffer.allocUnsafe(Math.max(total, this.#buf.length * 2));
    const out = this.#buf.subarray(0, total);
    out.writeUInt32LE(payload.length, 0);
    out.set(payload, FRAME_HEADER_BYTES);
    out.writeUInt32LE(frameCrc(out, 0, FRAME_HEADER_BYTES, total), 4);
    return out;
  }
}

export interface FrameScan {
  /** Payloads of the intact frames before the first damage, as views into the input. */
  readonly payloads: Buffer[];
  /** Byte offset just past the last intact frame: where appending may safely continue. */
  readonly validEnd: number;
  /** True when bytes after validEnd exist: a torn or corrupt frame, or garbage. */
  readonly damaged: boolean;
}

/** Reads frames until the end or the first torn/corrupt one; never throws on damage. */
export function scanFrames(buf: Buffer): FrameScan {
  const payloads: Buffer[] = [];
  let off = 0;
  while (off + FRAME_HEADER_BYTES <= buf.length) {
    const len = buf.readUInt32LE(off);
    const end = off + FRAME_HEADER_BYTES + len;
    if (len === 0 || len > MAX_FRAME_BYTES || end > buf.length) break;
    if (buf.readUInt32LE(off + 4) !== frameCrc(buf, off, off + FRAME_HEADER_BYTES, end)) break;
    payloads.push(buf.subarray(off + FRAME_HEADER_BYTES, end));
    off = end;
  }
  return { payloads, validEnd: off, damaged: off !== buf.length };
}

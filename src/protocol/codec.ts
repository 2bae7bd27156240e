import { Buffer } from 'node:buffer';
import { Packr } from 'msgpackr';
import { FerryError } from '../core/errors.ts';

/**
 * msgpack encode/decode for wire messages. msgpackr honours extension types and record
 * definitions from the input whatever the options say (Date, Set, Map, RegExp, Error, BigInt,
 * typed arrays, structured-clone references, records with generated readers). A peer must never be
 * able to make us build any of those, so `decode` first walks the bytes with `checkPlain` and
 * accepts only nil, booleans, numbers, strings, binaries, arrays and string-keyed maps, within a
 * nesting depth and with every declared count covered by the bytes that remain.
 */
const packr = new Packr({
  useRecords: false,
  moreTypes: false,
  structuredClone: false,
  mapsAsObjects: true,
  int64AsType: 'number',
  encodeUndefinedAsNil: true,
  bundleStrings: false,
});

/** Deeper than any message ferry sends (an apply op is about 6 levels). */
export const MAX_DEPTH = 32;
/** Largest array or map ferry sends: a scan result of 1,000,000 entries. */
export const MAX_CONTAINER = 1_000_000;

/** A message with at least this many bytes of binaries is packed into a buffer sized for it. */
const PRESIZE_MIN = 1 << 20;
/** Values an estimate visits at most; past that the message is packed as usual. */
const ESTIMATE_VALUES = 200_000;

/**
 * The msgpack bytes of a message. msgpackr packs into one shared buffer that grows 4x, then 2x,
 * at a time, copying what it holds, and a message's bytes keep that whole buffer alive: a 16 MiB
 * write window cost ~20 MiB of copies and pinned a 32 MiB buffer until it was written. A message
 * carrying large binaries (write pieces, read replies) is packed into a buffer of its own, sized
 * from the message, and the next message starts in a fresh small buffer, not after this one.
 */
export function encode(value: unknown): Buffer {
  const size = estimate(value);
  if (size === undefined) return packr.pack(value);
  packr.useBuffer(Buffer.allocUnsafeSlow(size));
  try {
    return packr.pack(value);
  } finally {
    packr.useBuffer(Buffer.allocUnsafeSlow(8192));
  }
}

/**
 * Room msgpackr needs for `value` without growing its buffer (it reserves 3 bytes per character
 * of a string, and a few bytes of header per value), or undefined when the message is small or
 * too large a tree to be worth walking.
 */
function estimate(value: unknown): number | undefined {
  let binaries = 0;
  let rest = 64 * 1024;
  let values = 1;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    rest += 9;
    if (v instanceof Uint8Array) binaries += v.byteLength;
    else if (typeof v === 'string') rest += 3 * v.length;
    else if (Array.isArray(v)) {
      values += v.length;
      if (values > ESTIMATE_VALUES) return undefined;
      for (const x of v) stack.push(x);
    } else if (v !== null && typeof v === 'object') {
      const keys = Object.keys(v);
      values += keys.length;
      if (values > ESTIMATE_VALUES) return undefined;
      for (const k of keys) {
        rest += 9 + 3 * k.length;
        stack.push((v as Record<string, unknown>)[k]);
      }
    }
  }
  return binaries < PRESIZE_MIN ? undefined : binaries + rest;
}

export function decode(bytes: Uint8Array): unknown {
  checkPlain(bytes);
  try {
    return packr.unpack(bytes);
  } catch (err) {
    throw new FerryError('PROTOCOL', `undecodable message: ${(err as Error).message}`, { cause: err });
  }
}

const fail = (what: string, at: number): never => {
  throw new FerryError('PROTOCOL', `malformed message: ${what} at byte ${at}`);
};

/** Items still expected in each open container; maps count keys and values, keys at even steps. */
interface Level {
  left: number;
  readonly map: boolean;
}

/** Throws FerryError('PROTOCOL') unless `b` is exactly one plain msgpack value. Iterative: no deep recursion. */
export function checkPlain(b: Uint8Array): void {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const stack: Level[] = [];
  let pos = 0;
  let done = false;
  const need = (n: number): void => {
    if (pos + n > b.length) fail('truncated value', pos);
  };
  const open = (count: number, map: boolean): void => {
    if (count > MAX_CONTAINER) fail(`container of ${count} items`, pos);
    // Each item takes at least one byte: a count the bytes cannot hold is a lie.
    if (count * (map ? 2 : 1) > b.length - pos) fail(`container count ${count} exceeds the data`, pos);
    if (stack.length >= MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`, pos);
    if (count > 0) stack.push({ left: count * (map ? 2 : 1), map });
  };
  while (!done) {
    need(1);
    const top = stack[stack.length - 1];
    const isKey = top?.map === true && top.left % 2 === 0;
    const t = b[pos] as number;
    const at = pos;
    pos++;
    let container = false;
    if (isKey && !((t >= 0xa0 && t <= 0xbf) || t === 0xd9 || t === 0xda || t === 0xdb)) {
      fail('map key that is not a string', at);
    }
    if (t <= 0x7f || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) {
      // fixint, nil, bool: nothing follows
    } else if (t <= 0x8f) {
      container = true;
      open(t - 0x80, true);
    } else if (t <= 0x9f) {
      container = true;
      open(t - 0x90, false);
    } else if (t <= 0xbf) {
      need(t - 0xa0);
      pos += t - 0xa0;
    } else {
      switch (t) {
        case 0xc4:
        case 0xd9:
          need(1);
          pos += 1 + view.getUint8(pos);
          need(0);
          break;
        case 0xc5:
        case 0xda:
          need(2);
          pos += 2 + view.getUint16(pos);
          need(0);
          break;
        case 0xc6:
        case 0xdb:
          need(4);
          pos += 4 + view.getUint32(pos);
          need(0);
          break;
        case 0xcc:
        case 0xd0:
          need(1);
          pos += 1;
          break;
        case 0xcd:
        case 0xd1:
          need(2);
          pos += 2;
          break;
        case 0xca:
        case 0xce:
        case 0xd2:
          need(4);
          pos += 4;
          break;
        case 0xcb:
        case 0xcf:
        case 0xd3:
          need(8);
          pos += 8;
          break;
        case 0xdc:
          need(2);
          container = true;
          pos += 2;
          open(view.getUint16(pos - 2), false);
          break;
        case 0xdd:
          need(4);
          container = true;
          pos += 4;
          open(view.getUint32(pos - 4), false);
          break;
        case 0xde:
          need(2);
          container = true;
          pos += 2;
          open(view.getUint16(pos - 2), true);
          break;
        case 0xdf:
          need(4);
          container = true;
          pos += 4;
          open(view.getUint32(pos - 4), true);
          break;
        default:
          // 0xc1 (never used), ext 0xc7-0xc9 and fixext 0xd4-0xd8: not plain data.
          fail(`type byte 0x${t.toString(16)} (extension or reserved)`, at);
      }
    }
    // Account for the value just read in its parent; pop finished containers.
    const pushed = container && stack[stack.length - 1] !== top;
    if (pushed) continue;
    let lvl = stack[stack.length - 1];
    if (lvl === undefined) {
      done = true;
      break;
    }
    lvl.left--;
    while (lvl !== undefined && lvl.left === 0) {
      stack.pop();
      lvl = stack[stack.length - 1];
      if (lvl === undefined) done = true;
      else lvl.left--;
    }
  }
  if (pos !== b.length) fail('trailing bytes after the message', pos);
}

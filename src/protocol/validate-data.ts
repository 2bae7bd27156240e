import { Buffer } from 'node:buffer';
import { FerryError } from '../core/errors.ts';
import { checkRelPath } from '../core/path.ts';
import type { Problem, ProblemCode } from '../core/problem.ts';
import type { VersionVector } from '../core/vv.ts';
import type { StatStamp } from '../ports/index-store.ts';

/**
 * Building blocks for validate.ts: each takes an `unknown` from the decoder and returns a fresh,
 * typed value holding only the known fields, or throws FerryError('PROTOCOL') naming the field.
 * Everything a peer sends is hostile (I8): fields are read as own properties only, numbers must be
 * finite, counts and lengths are bounded, paths go through checkRelPath.
 */
export const LIMITS = {
  scanEntries: 1_000_000,
  batch: 65_536,
  piece: 16 * 1024 * 1024,
  chunks: 1_000_000,
  vectorKeys: 4096,
  peers: 4096,
  ignoreRules: 100_000,
  ignoreFile: 4 * 1024 * 1024,
  text: 65_536,
  label: 4096,
  symlinkTarget: 4096,
  /** Partials a scan result may list (a replica keeps at most 64, adapters/partials.ts). */
  partials: 1024,
} as const;

export type Obj = Readonly<Record<string, unknown>>;

export function bad(what: string, why: string): never {
  throw new FerryError('PROTOCOL', `invalid ${what} from peer: ${why}`);
}

const show = (v: unknown): string =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'an array'
      : v instanceof Uint8Array
        ? 'binary data'
        : `a ${typeof v}`;

export function obj(v: unknown, what: string): Obj {
  if (
    typeof v !== 'object' ||
    v === null ||
    Array.isArray(v) ||
    Object.getPrototypeOf(v) !== Object.prototype
  ) {
    bad(what, `expected a map, got ${show(v)}`);
  }
  return v as Obj;
}

/** Own property only: a missing field must never resolve to something on Object.prototype. */
export function get(o: Obj, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

export function str(v: unknown, what: string, maxChars: number = LIMITS.text): string {
  if (typeof v !== 'string') bad(what, `expected a string, got ${show(v)}`);
  if (v.length > maxChars) bad(what, `string longer than ${maxChars} characters`);
  return v;
}

export function bool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') bad(what, `expected a boolean, got ${show(v)}`);
  return v;
}

/** A finite number (timestamps may predate 1970, so no sign rule). */
export function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) bad(what, 'expected a finite number');
  return v;
}

/** A non-negative safe integer, at most `max`. */
export function count(v: unknown, what: string, max: number = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    bad(what, 'expected a non-negative integer');
  if (v > max) bad(what, `${v} is above the limit of ${max}`);
  return v;
}

export function list(v: unknown, what: string, max: number): readonly unknown[] {
  if (!Array.isArray(v)) bad(what, `expected an array, got ${show(v)}`);
  if (v.length > max) bad(what, `${v.length} items, above the limit of ${max}`);
  return v;
}

export function map<T>(v: unknown, what: string, max: number, item: (x: unknown, what: string) => T): T[] {
  const a = list(v, what, max);
  const out: T[] = [];
  for (let i = 0; i < a.length; i++) out.push(item(a[i], `${what}[${i}]`));
  return out;
}

/** null and absent both mean "not there": msgpack has no undefined. */
export function optional<T>(v: unknown, what: string, check: (x: unknown, what: string) => T): T | undefined {
  return v === undefined || v === null ? undefined : check(v, what);
}

export function relPath(v: unknown, what: string): string {
  if (typeof v !== 'string') bad(what, `expected a path string, got ${show(v)}`);
  const why = checkRelPath(v);
  if (why !== undefined) bad(what, `${why} (${JSON.stringify(v.slice(0, 200))})`);
  return v;
}

/** A SHA-256 travels as its 32 bytes (half the size of hex) and becomes lower-case hex again. */
export function hash(v: unknown, what: string): string {
  if (!(v instanceof Uint8Array) || v.length !== 32) bad(what, 'expected a SHA-256 as 32 bytes of binary');
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
}

const SHORT_ID = /^[a-z0-9]{1,32}$/;
/** Replica ids and version-vector keys; 'constructor' is refused so records never shadow prototype names. */
export function shortId(v: unknown, what: string): string {
  if (typeof v !== 'string' || !SHORT_ID.test(v) || v in Object.prototype) {
    bad(what, 'expected an id of 1-32 characters a-z, 0-9');
  }
  return v;
}

export function bytes(v: unknown, what: string, max: number): Uint8Array {
  if (!(v instanceof Uint8Array)) bad(what, `expected binary data, got ${show(v)}`);
  if (v.length > max) bad(what, `${v.length} bytes, above the limit of ${max}`);
  // A plain Uint8Array view (no copy): callers get exactly the type the port promises.
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** A string-keyed record with validated keys and values. */
export function record<T>(
  v: unknown,
  what: string,
  max: number,
  value: (x: unknown, what: string) => T,
): Record<string, T> {
  const o = obj(v, what);
  const keys = Object.keys(o);
  if (keys.length > max) bad(what, `${keys.length} keys, above the limit of ${max}`);
  const out: Record<string, T> = {};
  for (const k of keys) out[shortId(k, `${what} key`)] = value(o[k], `${what}.${k}`);
  return out;
}

export function vector(v: unknown, what: string): VersionVector {
  return record(v, what, LIMITS.vectorKeys, (x, w) => count(x, w));
}

export function statStamp(v: unknown, what: string): StatStamp {
  const o = obj(v, what);
  return {
    size: count(get(o, 'size'), `${what}.size`),
    mtime: num(get(o, 'mtime'), `${what}.mtime`),
    ctime: num(get(o, 'ctime'), `${what}.ctime`),
    // Inode numbers may exceed 2^53 on some filesystems; they only need to compare equal.
    ino: (() => {
      const n = num(get(o, 'ino'), `${what}.ino`);
      if (n < 0 || !Number.isInteger(n)) bad(`${what}.ino`, 'expected a non-negative integer');
      return n;
    })(),
  };
}

const PROBLEM_CODES: readonly ProblemCode[] = [
  'unreadable',
  'special-file',
  'bad-name',
  'changed-during-sync',
  'write-failed',
  'symlink-escape',
  'not-empty',
  'type-clash',
];

export function problem(v: unknown, what: string): Problem {
  const o = obj(v, what);
  const rawPath = get(o, 'path');
  // '' names the root itself; anything else must be a path we could have sent ourselves.
  const path = rawPath === '' ? '' : relPath(rawPath, `${what}.path`);
  const code = get(o, 'code');
  if (typeof code !== 'string' || !(PROBLEM_CODES as readonly string[]).includes(code)) {
    bad(`${what}.code`, 'unknown problem code');
  }
  const base = { path, code: code as ProblemCode, message: str(get(o, 'message'), `${what}.message`) };
  const root = optional(get(o, 'root'), `${what}.root`, (x, w) => str(x, w, LIMITS.label));
  return root === undefined ? base : { ...base, root };
}

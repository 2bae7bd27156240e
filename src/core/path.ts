/**
 * Relative paths as ferry stores and sends them: '/'-separated, no empty, '.' or '..' segment,
 * no leading '/', no NUL, bounded lengths, and never inside the metadata folder. Anything a peer
 * sends goes through `checkRelPath` before it touches a filesystem (I8).
 */
export const META_DIR = '.ferry';

/**
 * A `.ferry` at any depth is never synced: below the top it is a nested replica's state (a root
 * inside another root), and copying it would give a second folder the same replica id and
 * version counters. The scan skips the name wherever it meets it (no rule: the ignore matcher
 * costs ~1.5 us per path), and an index that listed such paths forgets them, deleting nothing.
 */
export function inMetaDir(p: string): boolean {
  return (
    p === META_DIR ||
    p.startsWith(`${META_DIR}/`) ||
    p.includes(`/${META_DIR}/`) ||
    p.endsWith(`/${META_DIR}`)
  );
}
export const MAX_PATH_BYTES = 4096;
export const MAX_NAME_BYTES = 255;

/** UTF-8 length without encoding (this runs for every path of every scan). */
export function byteLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/** Returns a reason when the path is not acceptable, undefined when it is. */
export function checkRelPath(p: string): string | undefined {
  if (typeof p !== 'string' || p.length === 0) return 'empty path';
  if (p.includes('\0')) return 'path contains NUL';
  if (p.startsWith('/')) return 'absolute path';
  // A UTF-16 unit is at most 3 UTF-8 bytes: short strings need no exact count.
  if (p.length * 3 > MAX_PATH_BYTES && byteLength(p) > MAX_PATH_BYTES)
    return `path longer than ${MAX_PATH_BYTES} bytes`;
  const parts = p.split('/');
  for (const part of parts) {
    if (part === '' || part === '.' || part === '..') return `bad path segment '${part}'`;
    if (part.length * 3 > MAX_NAME_BYTES && byteLength(part) > MAX_NAME_BYTES)
      return `name longer than ${MAX_NAME_BYTES} bytes`;
  }
  if (parts.includes(META_DIR)) return 'path inside a .ferry metadata folder';
  return undefined;
}

/**
 * checkRelPath for a walk that already checked the parent: only the new name and the total
 * length can be wrong (the stat walk calls this for every entry, so no split, no allocation).
 */
export function checkChildName(name: string, fullPath: string): string | undefined {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0'))
    return `bad name '${name}'`;
  if (name.length * 3 > MAX_NAME_BYTES && byteLength(name) > MAX_NAME_BYTES)
    return `name longer than ${MAX_NAME_BYTES} bytes`;
  if (fullPath.length * 3 > MAX_PATH_BYTES && byteLength(fullPath) > MAX_PATH_BYTES)
    return `path longer than ${MAX_PATH_BYTES} bytes`;
  return undefined;
}

export function parentOf(p: string): string | undefined {
  const i = p.lastIndexOf('/');
  return i < 0 ? undefined : p.slice(0, i);
}

export function baseName(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? p : p.slice(i + 1);
}

export function joinRel(dir: string | undefined, name: string): string {
  return dir === undefined || dir === '' ? name : `${dir}/${name}`;
}

/** Every ancestor of p, nearest first: 'a/b/c' -> ['a/b', 'a']. */
export function ancestors(p: string): string[] {
  const out: string[] = [];
  let i = p.lastIndexOf('/');
  while (i > 0) {
    out.push(p.slice(0, i));
    i = p.lastIndexOf('/', i - 1);
  }
  return out;
}

export function depth(p: string): number {
  let n = 0;
  for (let i = 0; i < p.length; i++) if (p.charCodeAt(i) === 47) n++;
  return n;
}

/** True when p is `dir` itself or lies inside it. */
export function isWithin(p: string, dir: string): boolean {
  return p === dir || p.startsWith(`${dir}/`);
}

/**
 * The one source path inside the metadata folder a local piece may name: the partial copy a
 * replica kept of an interrupted large-file transfer, by the SHA-256 of the file it is a prefix
 * of (adapters/partials.ts). Not a tree path: checkRelPath refuses it; validators accept exactly
 * this shape for local pieces, and only the replica's own partial folder is read for it.
 */
export const PARTIAL_SOURCE_PREFIX = `${META_DIR}/partial/`;
const PARTIAL_SOURCE = /^\.ferry\/partial\/([0-9a-f]{64})$/;

export function partialSource(hash: string): string {
  return `${PARTIAL_SOURCE_PREFIX}${hash}`;
}

/** The file hash a partial source path names, or undefined for any other path. */
export function partialHashOf(p: string): string | undefined {
  return PARTIAL_SOURCE.exec(p)?.[1];
}

import { baseName, byteLength, MAX_NAME_BYTES, parentOf } from './path.ts';

/**
 * `name.sync-conflict-YYYYMMDD-HHMMSS-<replica>.ext`, the timestamp being the losing version's
 * mtime in UTC (for a symlink, which has none, the run's start). Deterministic: every host computes the same name from the same inputs (I7).
 * `taken` says whether a candidate path is already used; a counter is added until it is free.
 */
export function conflictCopyName(
  path: string,
  mtimeMs: number,
  replicaId: string,
  taken: (p: string) => boolean,
): string {
  const dir = parentOf(path);
  const base = baseName(path);
  const dot = base.lastIndexOf('.');
  const hasExt = dot > 0 && dot < base.length - 1 && byteLength(base.slice(dot)) <= 32; // a long tail is no extension
  const stem = hasExt ? base.slice(0, dot) : base;
  const ext = hasExt ? base.slice(dot) : '';
  const tag = `.sync-conflict-${stamp(mtimeMs)}-${replicaId}`;
  for (let n = 1; ; n++) {
    const suffix = n === 1 ? tag : `${tag}-${n}`;
    const name = `${fitStem(stem, byteLength(suffix + ext))}${suffix}${ext}`;
    const candidate = dir === undefined ? name : `${dir}/${name}`;
    if (!taken(candidate)) return candidate;
  }
}

function stamp(ms: number): string {
  const d = new Date(Number.isFinite(ms) ? Math.floor(ms) : 0);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/** Shortens the stem (by whole code points) so the full name stays within MAX_NAME_BYTES. */
function fitStem(stem: string, reserved: number): string {
  const budget = MAX_NAME_BYTES - reserved;
  if (byteLength(stem) <= budget) return stem;
  const chars = Array.from(stem);
  while (chars.length > 0 && byteLength(chars.join('')) > budget) chars.pop();
  return chars.join('');
}

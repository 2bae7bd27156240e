import type { FsStat } from '../ports/filesystem.ts';
import type { IndexRecord, StatStamp } from '../ports/index-store.ts';

export function stampOf(st: FsStat): StatStamp {
  return { size: st.size, mtime: st.mtime, ctime: st.ctime, ino: st.ino };
}

export function sameStat(a: StatStamp, b: StatStamp): boolean {
  return a.size === b.size && a.mtime === b.mtime && a.ctime === b.ctime && a.ino === b.ino;
}

/** A file is read again unless its stat and exec bit are exactly what its index record holds. */
export function fileNeedsHash(prev: IndexRecord | undefined, st: FsStat): boolean {
  const p = prev?.entry;
  return !(
    p?.kind === 'file' &&
    prev?.stat &&
    sameStat(prev.stat, st) &&
    p.exec === ((st.mode & 0o111) !== 0)
  );
}

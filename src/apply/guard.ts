import { sameContent } from '../core/entry.ts';
import type { Problem } from '../core/problem.ts';
import { compare } from '../core/vv.ts';
import type { FileSystem, FsStat } from '../ports/filesystem.ts';
import { FsError } from '../ports/filesystem.ts';
import type { IndexRecord } from '../ports/index-store.ts';
import type { Expect } from '../ports/replica.ts';

type RecordLookup = (path: string) => IndexRecord | undefined;

/** What the I4 check found at a path it let pass: its stat, or undefined when nothing is there. */
export interface Seen {
  readonly seen: FsStat | undefined;
}

/**
 * I4: never overwrite or delete what the scan did not see. Files and symlinks must still have the
 * scan's size, mtime, ctime and inode; directories only their kind and inode (their mtime moves
 * whenever this very run adds or removes a child). When the path passes, the stat just taken is
 * returned so the caller acts on that one observation instead of stat-ing again.
 */
export function checkExpect(
  fs: FileSystem,
  abs: string,
  rel: string,
  expect: Expect,
  indexed: RecordLookup,
): Problem | Seen {
  if (expect.kind === 'indexed') {
    // The engine planned from the converged state instead of this replica's scan (engine/
    // baseline.ts): that is only right while this index still holds the same entry.
    const rec = indexed(rel);
    const same =
      rec !== undefined &&
      sameContent(rec.entry, expect.entry) &&
      compare(rec.entry.vv, expect.entry.vv) === 'equal';
    if (!same) return changed(rel, 'this replica no longer holds what the run planned from');
    return checkExpect(fs, abs, rel, { kind: 'entry', entry: expect.entry, stat: rec.stat ?? null }, indexed);
  }
  const st = lstatOrUndefined(fs, abs);
  const seen = { seen: st };
  if (expect.kind === 'absent') {
    return st === undefined ? seen : changed(rel, 'something appeared at this path after the scan');
  }
  if (st === undefined) return changed(rel, 'it was removed after the scan');
  const want = expect.entry.kind;
  if (st.kind !== want) return changed(rel, `it is now a ${st.kind}, the scan saw a ${want}`);
  const s = expect.stat;
  if (s === null) return seen;
  if (want === 'dir')
    return st.ino === s.ino ? seen : changed(rel, 'the directory was replaced after the scan');
  if (st.size !== s.size || st.mtime !== s.mtime || st.ctime !== s.ctime || st.ino !== s.ino) {
    return changed(rel, 'it was modified after the scan');
  }
  return seen;
}

/** A refusal from checkExpect (anything else it returns is what it saw). */
export function isProblem(r: Problem | Seen | undefined): r is Problem {
  return r !== undefined && 'code' in r;
}

export function changed(path: string, why: string): Problem {
  return { path, code: 'changed-during-sync', message: `left alone: ${why}; the next run will pick it up` };
}

export function lstatOrUndefined(fs: FileSystem, abs: string): FsStat | undefined {
  try {
    return fs.lstatIfExists(abs);
  } catch (e) {
    if (e instanceof FsError && e.code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/**
 * I8: a write must not pass through a symlink. Every ancestor of `rel` inside the root must be a
 * real directory (or not exist yet, to be created by mkdir). Results are cached per batch.
 */
export class AncestorGuard {
  private readonly ok = new Set<string>();
  constructor(
    private readonly fs: FileSystem,
    private readonly root: string,
  ) {}

  check(rel: string): Problem | undefined {
    let i = rel.indexOf('/');
    while (i > 0) {
      const dir = rel.slice(0, i);
      if (!this.ok.has(dir)) {
        const st = lstatOrUndefined(this.fs, `${this.root}/${dir}`);
        if (st === undefined) return undefined; // created later by mkdir, itself guarded
        if (st.kind !== 'dir') {
          return {
            path: rel,
            code: 'symlink-escape',
            message: `'${dir}' is a ${st.kind}, not a directory: refusing to write through it`,
          };
        }
        this.ok.add(dir);
      }
      i = rel.indexOf('/', i + 1);
    }
    return undefined;
  }

  forget(dir: string): void {
    this.ok.delete(dir);
  }
}

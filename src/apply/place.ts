import type { Problem } from '../core/problem.ts';
import type { FileSystem, FsStat } from '../ports/filesystem.ts';
import { FsError } from '../ports/filesystem.ts';
import { changed, lstatOrUndefined } from './guard.ts';

/**
 * The last steps of a write, where the I4 check alone leaves a window: between it and the syscall
 * that acts, an editor can save. These steps close what a syscall can close and check what it
 * cannot, so a save that lands there is never put out of the tree without a word (I1, I4).
 */

/** errnos of a filesystem without hard links (FAT, exFAT, some network and FUSE mounts). */
const NO_LINKS = new Set(['EPERM', 'EOPNOTSUPP', 'ENOTSUP', 'ENOSYS', 'EMLINK']);

/**
 * Puts a finished temp file at a path that must be empty, never over anything: a hard link fails
 * at once if something appeared there since the check (a rename would replace it), then the temp
 * name goes. Where hard links are not available it falls back to a check and a rename, which
 * leaves the window of the stat before it, as every such tool has.
 */
export async function placeNew(
  fs: FileSystem,
  from: string,
  to: string,
  rel: string,
): Promise<Problem | undefined> {
  try {
    await fs.link(from, to);
  } catch (e) {
    if (!(e instanceof FsError)) throw e;
    if (e.code === 'EEXIST') return changed(rel, 'something appeared at this path after the scan');
    if (!NO_LINKS.has(e.code)) throw e;
    if (lstatOrUndefined(fs, to) !== undefined)
      return changed(rel, 'something appeared at this path after the scan');
    await fs.rename(from, to);
    return undefined;
  }
  try {
    await fs.unlink(from);
  } catch {
    // The file is in place; a temp name left behind goes at the next open, with the temp folder.
  }
  return undefined;
}

/**
 * Whether what history now holds for a path is still the version the I4 check saw there: the
 * same inode, size and mtime (a hard link or a rename changes the ctime, so it is not compared).
 * For a copy (no hard links) the live file must be the one seen, ctime included, for the copy
 * to be of it.
 */
export function keptAsSeen(
  fs: FileSystem,
  at: { kept: string; live: string; copied: boolean },
  seen: FsStat,
): boolean {
  const now = lstatOrUndefined(fs, at.copied ? at.live : at.kept);
  if (now === undefined || now.ino !== seen.ino || now.size !== seen.size || now.mtime !== seen.mtime)
    return false;
  return !at.copied || now.ctime === seen.ctime;
}

/**
 * Puts a version that was moved into history by mistake (it changed after the check) back at its
 * path, unless something else is there by now; then history keeps it, which loses nothing.
 * Returns whether it is back.
 */
export async function putBack(fs: FileSystem, kept: string, live: string): Promise<boolean> {
  try {
    await fs.link(kept, live);
  } catch (e) {
    if (e instanceof FsError && NO_LINKS.has(e.code) && lstatOrUndefined(fs, live) === undefined) {
      await fs.rename(kept, live);
      return true;
    }
    return false;
  }
  await fs.unlink(kept);
  return true;
}

import type { FileSystem } from '../ports/filesystem.ts';
import { lstatOrUndefined } from './guard.ts';

/**
 * I1: content that a run replaces or deletes is kept under `.ferry/history/<run>/<path>` first.
 * Replaced files are hard-linked there (no copy; the rename that follows cannot lose them);
 * deleted files and symlinks are moved there.
 */
export class History {
  private readonly made = new Set<string>();
  constructor(
    private readonly fs: FileSystem,
    /** Absolute: <root>/.ferry/history/<run stamp> */
    readonly dir: string,
  ) {}

  private async place(rel: string): Promise<string> {
    const slash = rel.lastIndexOf('/');
    const parent = slash < 0 ? this.dir : `${this.dir}/${rel.slice(0, slash)}`;
    if (!this.made.has(parent)) {
      await this.fs.mkdir(parent, { recursive: true });
      this.made.add(parent);
    }
    let target = `${this.dir}/${rel}`;
    for (let n = 2; lstatOrUndefined(this.fs, target) !== undefined; n++) target = `${this.dir}/${rel}~${n}`;
    return target;
  }

  /**
   * Keep a copy of a file that is about to be replaced; falls back to copying without hard links.
   * Returns where, and whether it had to copy: if the replace then fails, the caller drops it with
   * `unkeep`, because a hard link still shares the live file's inode, and edits made to it in
   * place would change history.
   */
  async keepBeforeReplace(
    abs: string,
    rel: string,
  ): Promise<{ readonly path: string; readonly copied: boolean }> {
    const target = await this.place(rel);
    try {
      await this.fs.link(abs, target);
      return { path: target, copied: false };
    } catch {
      await this.fs.copyFile(abs, target);
      return { path: target, copied: true };
    }
  }

  /** Undo a keepBeforeReplace whose replace did not happen (the file is still live, unchanged). */
  async unkeep(target: string): Promise<void> {
    try {
      await this.fs.unlink(target);
    } catch {
      // Best effort: a leftover history copy costs space, never data.
    }
  }

  /** Move a file or symlink out of the tree into history; returns where it went. */
  async moveIn(abs: string, rel: string): Promise<string> {
    const target = await this.place(rel);
    await this.fs.rename(abs, target);
    return target;
  }
}

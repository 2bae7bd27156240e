import type { FileEntry } from '../core/entry.ts';
import type { Problem } from '../core/problem.ts';
import type { FileSystem, Hasher, HasherFactory, WriteHandle } from '../ports/filesystem.ts';
import type { Piece } from '../ports/replica.ts';

/**
 * A file being assembled in `.ferry/tmp` (same filesystem as the root, so the final rename is
 * atomic: I2). Every byte is hashed on its way in; `seal` refuses a result whose SHA-256 is not
 * the entry's, so a changed source or a damaged piece never reaches the tree.
 */
export class TempFile {
  private readonly hasher: Hasher;
  private written = 0;
  private constructor(
    private readonly fs: FileSystem,
    readonly tmpPath: string,
    private readonly handle: WriteHandle,
    newHasher: HasherFactory,
  ) {
    this.hasher = newHasher();
  }

  static async create(fs: FileSystem, tmpPath: string, newHasher: HasherFactory): Promise<TempFile> {
    return new TempFile(fs, tmpPath, await fs.createExclusive(tmpPath), newHasher);
  }

  /** Appends pieces; a local piece is read from this replica and must match its chunk hash. */
  async append(
    pieces: readonly Piece[],
    root: string,
    newHasher: HasherFactory,
  ): Promise<Problem | undefined> {
    for (const piece of pieces) {
      let data: Uint8Array;
      if (piece.kind === 'data') data = piece.data;
      else {
        const h = await this.fs.openRead(`${root}/${piece.path}`);
        try {
          data = await h.read(piece.offset, piece.length);
        } finally {
          await h.close();
        }
        const check = newHasher();
        check.update(data);
        if (data.length !== piece.length || check.digest() !== piece.hash) {
          return {
            path: piece.path,
            code: 'changed-during-sync',
            message: 'local copy used as a source changed during the run',
          };
        }
      }
      this.hasher.update(data);
      await this.handle.write(data);
      this.written += data.length;
    }
    return undefined;
  }

  get bytes(): number {
    return this.written;
  }

  /** Closes the file; returns a problem when the content is not exactly the entry's. */
  async seal(entry: FileEntry, rel: string): Promise<Problem | undefined> {
    await this.handle.close();
    const hash = this.hasher.digest();
    if (this.written !== entry.size || hash !== entry.hash) {
      return {
        path: rel,
        code: 'changed-during-sync',
        message: 'received content does not match its hash (source changed during the run); not applied',
      };
    }
    return undefined;
  }

  async discard(): Promise<void> {
    try {
      await this.handle.close();
    } catch {
      // already closed
    }
    try {
      await this.fs.unlink(this.tmpPath);
    } catch {
      // never created or already gone
    }
  }
}

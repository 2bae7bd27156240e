import type { TempFile } from '../apply/temp-file.ts';
import { partialHashOf } from '../core/path.ts';
import type { HasherFactory } from '../ports/filesystem.ts';
import type { Piece, WriteOp } from '../ports/replica.ts';

/** A large file being received in several calls (ReplicaPort beginWrite/appendWrite/finishWrite). */
export interface Staged {
  readonly op: WriteOp;
  readonly tmp: TempFile;
  /** Whether any piece was read from a kept partial. */
  readPartial: boolean;
  /** The last append in call order; each waits for the one before it. */
  tail: Promise<void>;
  /** What the first failed append threw. */
  error?: unknown;
}

export interface StagingDeps {
  readonly newHasher: HasherFactory;
  /** Where a local piece's bytes are: a tree path, or a kept partial (core/path.ts). */
  readonly sourcePath: (p: string) => string;
  /** A kept partial that a failed write read from is suspect: forget it. */
  readonly dropPartial: (hash: string) => void;
}

export const usesPartial = (pieces: readonly Piece[]): boolean =>
  pieces.some((p) => p.kind === 'local' && partialHashOf(p.path) !== undefined);

/** The large files of one replica that are being written, by path. */
export class StagedWrites {
  private readonly staged = new Map<string, Staged>();

  constructor(private readonly deps: StagingDeps) {}

  /** Start a file in its temp file; its first pieces come with the op. */
  async begin(op: WriteOp, tmp: TempFile): Promise<void> {
    const s: Staged = { op, tmp, readPartial: usesPartial(op.pieces), tail: Promise.resolve() };
    this.staged.set(op.path, s);
    await this.append(op.path, op.pieces);
  }

  /**
   * Calls for one path may overlap (the engine reads the next window while this one is written):
   * they run one after the other in call order. After one throws, later ones throw its error and
   * write nothing, so the bytes on disk stay a prefix of the file (a partial to resume from).
   */
  append(path: string, pieces: readonly Piece[]): Promise<void> {
    const s = this.staged.get(path);
    if (!s) return Promise.resolve();
    const run = s.tail.then(async () => {
      if (s.error !== undefined) throw s.error;
      if (this.staged.get(path) === s) await this.appendTo(s, pieces);
    });
    s.tail = run.catch((e: unknown) => {
      s.error ??= e;
    });
    return run;
  }

  private async appendTo(s: Staged, pieces: readonly Piece[]): Promise<void> {
    s.readPartial ||= usesPartial(pieces);
    const bad = await s.tmp.append(pieces, this.deps.sourcePath, this.deps.newHasher);
    if (bad) {
      await s.tmp.discard();
      this.staged.delete(s.op.path);
      if (s.readPartial) this.deps.dropPartial(s.op.entry.hash);
    }
  }

  /** Once its appends are done, the file leaves staging; undefined if a local piece went bad. */
  async take(path: string): Promise<Staged | undefined> {
    await this.staged.get(path)?.tail;
    const s = this.staged.get(path);
    this.staged.delete(path);
    return s;
  }

  /** The run ends with files unfinished: each is kept as a partial to resume from, or discarded. */
  async abandon(keep: boolean): Promise<void> {
    for (const s of this.staged.values()) await (keep ? s.tmp.keep() : s.tmp.discard());
    this.staged.clear();
  }
}

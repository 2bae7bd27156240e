import type { Entry, FileEntry } from '../core/entry.ts';
import type { IndexChange, IndexStore } from '../ports/index-store.ts';
import type { ApplyOp, ApplyReply } from '../ports/replica.ts';

/** Applied changes are written at the latest when this many wait (one sync, then one append). */
const MAX_PENDING = 50_000;

/**
 * What reaches a replica's index, and when (I3: the index lags reality, never leads it).
 *
 * - A scan's changes describe the tree as it is: appended and synced at once (`persist`). They
 *   must be: a counter a scan bumped has to be durable in the index before any peer can hold that
 *   version, or the next scan would give the same counter to another version.
 * - An apply is announced before its files land (`announce`: hints, see IndexSnapshot.hints), and
 *   its changes (`applied`) wait for a filesystem sync that makes their renames durable. Every
 *   batch makes one before its own renames (apply/apply-batch.ts barrier), which covers every
 *   batch applied before it started (`syncAndRecord`), so a run killed midway leaves only its
 *   last batch or two unrecorded, and those are known again by their hints.
 * Appends run one after another in call order, so the log keeps the order of the changes.
 */
export class IndexWriter {
  private pending: IndexChange[] = [];
  /** How many applied changes left `pending` for the index so far (the number of pending[0]). */
  private recordedCount = 0;
  private appending: Promise<void> = Promise.resolve();
  /** Changes appended since the last compaction (the replica compacts when the log grew large). */
  appended = 0;

  constructor(
    private readonly store: IndexStore,
    private readonly io: {
      /** One filesystem sync of the replica's tree. */
      readonly sync: () => Promise<void>;
      /** false (--no-fsync): applied changes are recorded without waiting for a sync. */
      readonly durable: () => boolean;
    },
  ) {}

  persist(changes: readonly IndexChange[], durable = true): Promise<void> {
    const run = this.appending.then(async () => {
      if (changes.length === 0) return;
      await this.store.append(changes, { durable });
      this.appended += changes.length;
    });
    this.appending = run.catch(() => {});
    return run;
  }

  /** Hints for the ops about to be applied. Chunk lists stay out: a hint lends only its vector. */
  async announce(ops: readonly ApplyOp[]): Promise<void> {
    const hints: IndexChange[] = [];
    for (const op of ops) {
      if (op.op === 'record') continue;
      const entry: Entry = op.entry.kind === 'file' ? withoutChunks(op.entry) : op.entry;
      hints.push({ path: hintPath(op), record: { entry } });
    }
    await this.store.appendHints(hints);
  }

  /**
   * Ends the hints of ops that did not apply: left standing, a hint would lend its vector to the
   * same content written later by hand, as if it were the version the run planned.
   */
  async unannounceFailed(ops: readonly ApplyOp[], replies: readonly ApplyReply[]): Promise<void> {
    const failed = ops.flatMap((op, i) =>
      op.op !== 'record' && replies[i]?.ok !== true ? [hintPath(op)] : [],
    );
    await this.unannounce(failed);
  }

  /** Ends these hints (a scan used them: they describe a run that is over). */
  async unannounce(paths: Iterable<string>): Promise<void> {
    const ended: IndexChange[] = [];
    for (const path of paths) ended.push({ path, record: null });
    await this.store.appendHints(ended);
  }

  /** Changes an apply made: recorded once a sync has made them durable. */
  async applied(changes: readonly IndexChange[]): Promise<void> {
    this.pending.push(...changes);
    if (this.pending.length >= MAX_PENDING) await this.flush();
  }

  /** Everything applied so far into the index (one more sync first, unless --no-fsync). */
  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    if (this.io.durable()) await this.syncAndRecord();
    else await this.recordUpTo(this.recordedCount + this.pending.length);
  }

  /** A filesystem sync, then the changes applied before it started go into the index. */
  async syncAndRecord(): Promise<void> {
    const upTo = this.recordedCount + this.pending.length;
    await this.io.sync();
    await this.recordUpTo(upTo);
  }

  private async recordUpTo(upTo: number): Promise<void> {
    const n = upTo - this.recordedCount;
    if (n <= 0) return;
    const ready = this.pending.splice(0, n);
    this.recordedCount += ready.length;
    // No sync of its own: lost in a power cut, these only make the index lag (I3), and the next
    // synced write (a scan's changes, the run's metadata at finish) covers them. A kill -9 keeps them.
    await this.persist(ready, false);
  }
}

const hintPath = (op: Exclude<ApplyOp, { op: 'record' }>): string => (op.op === 'rename' ? op.to : op.path);

function withoutChunks(e: FileEntry): FileEntry {
  const { chunks: _listed, ...rest } = e;
  return rest;
}

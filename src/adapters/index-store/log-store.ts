import { type FileHandle, mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { FerryError } from '../../core/errors.ts';
import type {
  IndexChange,
  IndexRecord,
  IndexSnapshot,
  IndexStore,
  ReplicaMeta,
} from '../../ports/index-store.ts';
import {
  applyChanges,
  decodeMeta,
  encodeChanges,
  encodeMeta,
  headerPayload,
  Kind,
  pack,
  packTransient,
  readHeader,
  ShapeError,
  unpack,
} from './codec.ts';
import { FrameScratch, framePayloads, scanFrames } from './frames.ts';

/**
 * IndexStore as an in-memory map persisted as snapshot.bin (compacted state) plus log.bin
 * (changes appended since), both sequences of CRC-checked frames (frames.ts, codec.ts).
 *
 * snapshot.bin: Header(gen) Meta Changes* End(count). Written whole to a temp file, fsynced and
 *   renamed, so it is complete or absent; any damage in it is real damage -> INDEX_CORRUPT.
 * log.bin: Header(gen) (Changes | Meta | Hints)*. Appended and fdatasynced per call (Hints are
 *   not synced: one lost costs nothing). A crash can leave a
 *   torn last frame: load replays up to the first bad frame and ignores the rest, and the next
 *   write truncates that tail first so new frames never hide behind garbage.
 *
 * The generation ties a log to the snapshot it extends. compact() writes snapshot gen+1 before it
 * resets the log, so a crash between the two leaves a log of the old generation, which load
 * ignores instead of replaying stale changes over the new snapshot.
 */
const SNAPSHOT = 'snapshot.bin';
const LOG = 'log.bin';
/**
 * Changes per frame: bounds frame size and lets msgpack decode in large, cheap batches. Small
 * enough that a frame's re-built records die young (4096 per frame promoted ~130 MB of them to the
 * old generation on a 100k-file initial copy, which set the process's peak memory).
 */
const BATCH = 512;

export function openLogIndexStore(dir: string): LogIndexStore {
  return new LogIndexStore(dir);
}

async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

function corrupt(file: string, why: string, cause?: unknown): FerryError {
  return new FerryError(
    'INDEX_CORRUPT',
    `index file ${file} is damaged (${why}); move it away to rebuild the index from a rescan`,
    {
      hint: `move ${file} and log.bin beside it out of the way; the next run rescans and rebuilds the index`,
      ...(cause === undefined ? {} : { cause }),
    },
  );
}

interface SnapshotRead {
  readonly gen: number;
  readonly meta: ReplicaMeta | undefined;
  readonly records: Map<string, IndexRecord>;
}

export class LogIndexStore implements IndexStore {
  readonly #dir: string;
  /** Generation of snapshot.bin as last read or written; undefined until known. */
  #gen: number | undefined;
  /** Offset just past the last intact frame of a log of generation #gen; 0 if none. */
  #logEnd: number | undefined;
  #log: FileHandle | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  #ignoredLogBytes = 0;
  /** Frames are written one at a time (#serial), so one buffer serves them all. */
  readonly #scratch = new FrameScratch();

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** Bytes of log.bin that the last load ignored: a torn or corrupt tail, or a stale log. */
  get ignoredLogBytes(): number {
    return this.#ignoredLogBytes;
  }

  /** Operations run one at a time, in call order: appends must not interleave with compaction. */
  #serial<T>(op: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('index store is closed'));
    const run = this.#queue.then(op, op);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  load(): Promise<IndexSnapshot | undefined> {
    return this.#serial(async () => {
      const snapBuf = await readIfExists(join(this.#dir, SNAPSHOT));
      const logBuf = await readIfExists(join(this.#dir, LOG));
      if (snapBuf === undefined && logBuf === undefined) {
        this.#gen = 0;
        this.#logEnd = 0;
        return undefined;
      }
      const snap =
        snapBuf === undefined ? { gen: 0, meta: undefined, records: new Map() } : this.#readSnapshot(snapBuf);
      let meta = snap.meta;
      // A settled token holds only if no change was recorded after the metadata that carries it.
      let changedAfterMeta = false;
      const records = snap.records;
      const hints = new Map<string, IndexRecord>();
      this.#gen = snap.gen;
      this.#logEnd = 0;
      this.#ignoredLogBytes = logBuf?.length ?? 0;
      if (logBuf !== undefined) {
        const scan = scanFrames(logBuf);
        const [first, ...rest] = scan.payloads;
        if (first !== undefined && this.#logGen(first) === snap.gen) {
          let end = first.byteOffset - logBuf.byteOffset + first.length;
          for (const p of rest) {
            // A frame with a valid CRC that does not decode is written by a newer or broken ferry:
            // stop there like at a torn frame, and keep everything before it.
            try {
              const t = unpack(p) as unknown[];
              if (t[0] === Kind.Changes) {
                applyChanges(t[1], records, hints);
                changedAfterMeta = true;
              } else if (t[0] === Kind.Hints) {
                applyChanges(t[1], hints);
                changedAfterMeta = true;
              } else if (t[0] === Kind.Meta) {
                meta = decodeMeta(t[1]);
                changedAfterMeta = false;
              } else break;
            } catch (e) {
              if (e instanceof ShapeError) break;
              throw e;
            }
            end = p.byteOffset - logBuf.byteOffset + p.length;
          }
          this.#logEnd = end;
          this.#ignoredLogBytes = logBuf.length - end;
        }
      }
      if (meta === undefined) {
        if (records.size === 0) return undefined;
        throw corrupt(join(this.#dir, LOG), 'entries without replica metadata');
      }
      if (changedAfterMeta && meta.settled !== undefined) {
        const { settled: _dropped, ...rest } = meta;
        meta = rest;
      }
      return hints.size === 0 ? { meta, records } : { meta, records, hints };
    });
  }

  #logGen(header: Uint8Array): number | undefined {
    try {
      return readHeader(header, 'log');
    } catch (e) {
      if (e instanceof ShapeError) return undefined;
      throw e;
    }
  }

  #readSnapshot(buf: Buffer): SnapshotRead {
    const file = join(this.#dir, SNAPSHOT);
    const scan = scanFrames(buf);
    if (scan.damaged) throw corrupt(file, `bad frame at byte ${scan.validEnd} of ${buf.length}`);
    const [first, ...rest] = scan.payloads;
    try {
      if (first === undefined) throw new ShapeError('empty file');
      const gen = readHeader(first, 'snapshot');
      let meta: ReplicaMeta | undefined;
      const records = new Map<string, IndexRecord>();
      let ended = false;
      for (const p of rest) {
        if (ended) throw new ShapeError('frames after the end marker');
        const t = unpack(p) as unknown[];
        if (t[0] === Kind.Changes) applyChanges(t[1], records);
        else if (t[0] === Kind.Meta) meta = decodeMeta(t[1]);
        else if (t[0] === Kind.End) {
          if (t[1] !== records.size)
            throw new ShapeError(`holds ${records.size} records, end marker says ${t[1]}`);
          ended = true;
        } else throw new ShapeError(`unknown frame kind ${String(t[0])}`);
      }
      if (!ended) throw new ShapeError('end marker missing');
      return { gen, meta, records };
    } catch (e) {
      if (e instanceof ShapeError) throw corrupt(file, e.message, e);
      throw e;
    }
  }

  /** The snapshot's generation, for a write without a prior load; a damaged snapshot throws. */
  async #snapshotGen(): Promise<number> {
    const buf = await readIfExists(join(this.#dir, SNAPSHOT));
    if (buf === undefined) return 0;
    return this.#readSnapshot(buf).gen;
  }

  /** Opens log.bin for appending: truncates a torn tail, or starts a fresh log of generation #gen. */
  async #openLog(): Promise<FileHandle> {
    if (this.#log !== undefined) return this.#log;
    await mkdir(this.#dir, { recursive: true });
    if (this.#gen === undefined || this.#logEnd === undefined) {
      this.#gen = await this.#snapshotGen();
      const buf = await readIfExists(join(this.#dir, LOG));
      const scan = buf === undefined ? undefined : scanFrames(buf);
      const first = scan?.payloads[0];
      this.#logEnd =
        scan !== undefined && first !== undefined && this.#logGen(first) === this.#gen ? scan.validEnd : 0;
    }
    const path = join(this.#dir, LOG);
    const h = await open(path, 'a');
    try {
      const { size } = await h.stat();
      if (this.#logEnd === 0) {
        await h.truncate(0);
        await h.write(framePayloads([headerPayload('log', this.#gen)]));
        await h.datasync();
        if (size === 0) await fsyncDir(this.#dir); // the file may be new: make its name durable
        this.#logEnd = (await h.stat()).size;
      } else if (size > this.#logEnd) {
        await h.truncate(this.#logEnd);
        await h.datasync();
      }
    } catch (e) {
      await h.close();
      throw e;
    }
    this.#log = h;
    return h;
  }

  /**
   * Appends one frame per payload, each written as soon as it is encoded (a 100k-change append
   * built whole was ~120 MB of transient buffers), then one datasync. A crash midway keeps a
   * prefix of whole frames, which is all a single large write promised too: every change in it
   * describes durable state by itself (I3).
   */
  async #appendFrames(payloads: Iterable<Buffer>, sync = true): Promise<void> {
    const h = await this.#openLog();
    let written = 0;
    try {
      for (const p of payloads) {
        const buf = this.#scratch.frame(p);
        await h.write(buf);
        written += buf.length;
      }
      if (sync) await h.datasync();
    } catch (e) {
      // Unknown how much reached the disk: forget the handle so the next write rescans the log
      // and truncates whatever partial frame this left.
      this.#log = undefined;
      this.#logEnd = undefined;
      await h.close().catch(() => undefined);
      throw e;
    }
    this.#logEnd = (this.#logEnd ?? 0) + written;
  }

  append(changes: readonly IndexChange[], opts: { readonly durable?: boolean } = {}): Promise<void> {
    return this.#serial(async () => {
      if (changes.length === 0) return;
      await this.#appendFrames(changeFrames(changes), opts.durable ?? true);
    });
  }

  appendHints(changes: readonly IndexChange[]): Promise<void> {
    return this.#serial(async () => {
      if (changes.length === 0) return;
      await this.#appendFrames(changeFrames(changes, Kind.Hints), false);
    });
  }

  writeMeta(meta: ReplicaMeta): Promise<void> {
    return this.#serial(() => this.#appendFrames([pack([Kind.Meta, encodeMeta(meta)])]));
  }

  compact(snapshot: IndexSnapshot): Promise<void> {
    return this.#serial(async () => {
      await mkdir(this.#dir, { recursive: true });
      const gen = (this.#gen ?? (await this.#snapshotGen())) + 1;
      const final = join(this.#dir, SNAPSHOT);
      const tmp = `${final}.tmp`;
      const h = await open(tmp, 'w');
      try {
        // Frame by frame, as #appendFrames; the snapshot is only renamed into place once whole.
        for (const p of snapshotFrames(gen, snapshot)) await h.write(this.#scratch.frame(p));
        await h.sync();
      } finally {
        await h.close();
      }
      await rename(tmp, final);
      await fsyncDir(this.#dir);
      // From here the old log is stale (older generation); resetting it is tidy-up, not safety.
      this.#gen = gen;
      this.#logEnd = 0;
      await this.#log?.close();
      this.#log = undefined;
      await this.#openLog();
    });
  }

  close(): Promise<void> {
    const done = this.#serial(async () => {
      await this.#log?.close();
      this.#log = undefined;
    });
    this.#closed = true;
    return done;
  }
}

/** A log append's payloads, encoded one batch at a time as they are consumed. */
function* changeFrames(
  changes: readonly IndexChange[],
  kind: typeof Kind.Changes | typeof Kind.Hints = Kind.Changes,
): Generator<Buffer> {
  for (let i = 0; i < changes.length; i += BATCH) {
    yield packTransient([kind, encodeChanges(changes.slice(i, i + BATCH))]);
  }
}

/** A snapshot's payloads: header, meta, the records in batches, and the end marker with the count. */
function* snapshotFrames(gen: number, snapshot: IndexSnapshot): Generator<Buffer> {
  yield headerPayload('snapshot', gen);
  yield pack([Kind.Meta, encodeMeta(snapshot.meta)]);
  let batch: IndexChange[] = [];
  for (const [path, record] of snapshot.records) {
    batch.push({ path, record });
    if (batch.length === BATCH) {
      yield packTransient([Kind.Changes, encodeChanges(batch)]);
      batch = [];
    }
  }
  if (batch.length > 0) yield packTransient([Kind.Changes, encodeChanges(batch)]);
  yield pack([Kind.End, snapshot.records.size]);
}

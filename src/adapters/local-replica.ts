import * as fs from 'node:fs';
import { applyBatch } from '../apply/apply-batch.ts';
import { History } from '../apply/history.ts';
import { chunkMode, TempFile } from '../apply/temp-file.ts';
import type { Entry } from '../core/entry.ts';
import { FerryError } from '../core/errors.ts';
import { partialHashOf } from '../core/path.ts';
import type { FileSystem, HasherFactory, StreamHasherFactory } from '../ports/filesystem.ts';
import type { IndexChange, IndexRecord, IndexStore, ReplicaMeta } from '../ports/index-store.ts';
import type {
  ApplyOp,
  ApplyReply,
  ChunkListReply,
  ChunkListRequest,
  FinishOptions,
  OpenInfo,
  OpenOptions,
  Piece,
  ReadReply,
  ReadRequest,
  ReplicaPort,
  ScanOptions,
  ScanResult,
  WriteOp,
} from '../ports/replica.ts';
import { IGNORE_FILE, type IgnoreMatcher, makeIgnore } from '../scan/ignore.ts';
import { prefetchTree, ScanCache } from '../scan/prefetch.ts';
import { DEFAULT_CHUNK_THRESHOLD, scanTree } from '../scan/scan.ts';
import { fineChunkList } from './fine-lists.ts';
import { readHostGen, writeHostGen } from './host-record.ts';
import { openLogIndexStore } from './index-store/log-store.ts';
import { IndexWriter } from './index-writer.ts';
import { takeLock } from './lock.ts';
import { Partials } from './partials.ts';
import { ReadArenas } from './read-arenas.ts';
import { verifyRead } from './read-verified.ts';
import { fileLayout, type ReplicaLayout } from './replica-layout.ts';
import { newReplicaId, readMarker, writeMarker } from './replica-marker.ts';
import { StagedWrites, usesPartial } from './staged-writes.ts';

export type { ReplicaLayout } from './replica-layout.ts';

/**
 * Temp files must be on the tree's filesystem (atomic rename, I2): `<meta>/tmp` for folders; for a
 * single file, its own folder with a `.<name>.ferry-tmp-` prefix (the state dir may be elsewhere).
 */
function tempPlace(layout: ReplicaLayout): { dir: string; prefix: string } {
  return layout.only === undefined
    ? { dir: `${layout.meta}/tmp`, prefix: '' }
    : { dir: layout.root, prefix: `.${layout.only}.ferry-tmp-` };
}

export interface LocalReplicaDeps {
  readonly fs: FileSystem;
  readonly newHasher: HasherFactory;
  /** Hashes large files on another thread; absent: every hash on the calling thread. */
  readonly streamHasher?: StreamHasherFactory;
  readonly now: () => number;
}

/** A replica on this host's filesystem: the ReplicaPort over node:fs. */
export class LocalReplica implements ReplicaPort {
  private store: IndexStore | undefined;
  private records = new Map<string, IndexRecord>();
  /** What an interrupted run was about to write (IndexSnapshot.hints), for this run's scan. */
  private hints: ReadonlyMap<string, IndexRecord> | undefined;
  private meta: ReplicaMeta | undefined;
  private release: (() => void) | undefined;
  private history: History | undefined;
  private readonly staged: StagedWrites;
  /** Kept prefixes of interrupted large-file transfers (folder roots opened for writing only). */
  private partials: Partials | undefined;
  /** Hashes of files committed this run: their partials go at finish/close. */
  private readonly committed = new Set<string>();
  private tempCounter = 0;
  private readonly arenas = new ReadArenas();
  /** What reaches the index, and when (adapters/index-writer.ts). */
  private index: IndexWriter | undefined;
  private durable = true;
  /** The run's chunk threshold (from scan): received files get chunk lists exactly as scanned ones. */
  private chunkThreshold = DEFAULT_CHUNK_THRESHOLD;
  /** An early look at the tree (warm), taken by the next scan. */
  private warming: Promise<ScanCache> | undefined;
  private closing = false;

  constructor(
    readonly label: string,
    private layout: ReplicaLayout,
    private readonly deps: LocalReplicaDeps,
  ) {
    this.staged = new StagedWrites({
      newHasher: deps.newHasher,
      sourcePath: (p) => this.sourcePath(p),
      dropPartial: (hash) => this.partials?.drop(hash),
    });
  }

  private get markerPath(): string {
    return `${this.layout.meta}/id`;
  }

  async open(opts: OpenOptions): Promise<OpenInfo> {
    if (opts.singleFile === true && this.layout.only === undefined) this.becomeFile();
    const { root, meta } = this.layout;
    const exists =
      this.layout.only === undefined ? isDir(root) : fs.existsSync(`${root}/${this.layout.only}`);
    if (this.layout.only === undefined && fs.existsSync(root) && !exists) {
      throw new FerryError('BAD_ROOT', `${this.label} exists but is not a folder`, {
        hint: 'give a folder, or a file to sync a single file',
      });
    }
    this.durable = opts.durable ?? true;
    const marker = readMarker(this.markerPath);
    if (marker === undefined && (!opts.create || opts.readOnly)) {
      return {
        replicaId: '',
        exists,
        fresh: true,
        lastSync: undefined,
        peers: {},
        ...this.fileInfo(),
      };
    }
    fs.mkdirSync(`${meta}/tmp`, { recursive: true });
    if (this.layout.only !== undefined) fs.mkdirSync(root, { recursive: true });
    if (!opts.readOnly) this.release = takeLock(`${meta}/lock`, this.label);
    const store = openLogIndexStore(`${meta}/index`);
    this.store = store;
    this.index = new IndexWriter(store, {
      sync: () => this.deps.fs.syncFilesystem(this.layout.root),
      durable: () => this.durable,
    });
    const snap = await store.load();
    let fresh = false;
    if (marker === undefined) {
      fresh = true;
      this.meta = { replicaId: newReplicaId(), createdAt: this.deps.now(), peers: {} };
      await this.store.writeMeta(this.meta);
      writeMarker(this.markerPath, this.meta.replicaId);
    } else {
      if (snap && snap.meta.replicaId !== marker) {
        throw new FerryError(
          'MARKER_FOREIGN',
          `${this.label}: its marker says replica ${marker} but its index belongs to ${snap.meta.replicaId}`,
          {
            hint: `the .ferry folder was copied from another replica; move ${meta} away to start this replica afresh`,
          },
        );
      }
      this.meta = snap && store.ignoredLogBytes === 0 ? snap.meta : this.rekeyed(marker, snap?.meta);
      if (this.meta !== snap?.meta && !opts.readOnly) await store.writeMeta(this.meta);
      this.records = new Map(snap?.records ?? []);
      this.hints = snap?.hints;
    }
    if (!opts.readOnly) cleanTemp(tempPlace(this.layout));
    if (!opts.readOnly && this.layout.only === undefined) {
      this.partials = new Partials(`${meta}/partial`, this.deps.now);
      this.partials.tidy();
    }
    return {
      replicaId: this.meta.replicaId,
      exists: true,
      fresh,
      lastSync: this.meta.lastSync,
      peers: this.meta.peers,
      ...this.fileInfo(),
      ...(this.meta.settled === undefined ? {} : { settled: this.meta.settled }),
      ...(this.meta.vvKey === undefined ? {} : { vvKey: this.meta.vvKey }),
      ...(this.meta.gen === undefined ? {} : { gen: this.meta.gen }),
      ...this.generationsSeen(this.meta),
    };
  }

  /** What the index says was seen of each replica, with what this host recorded of this one. */
  private generationsSeen(meta: ReplicaMeta): Pick<OpenInfo, 'knownGens'> {
    const here = readHostGen(meta.replicaId);
    const known = meta.knownGens;
    if (here === undefined || here <= (known?.[meta.replicaId] ?? 0))
      return known ? { knownGens: known } : {};
    return { knownGens: { ...known, [meta.replicaId]: here } };
  }

  /**
   * Metadata for a replica whose index lost changes: gone altogether (moved away after damage,
   * deleted by hand), or with part of its log unreadable (a torn last append, or damage further
   * in). Changes it made may have reached its peers under counters it no longer knows, so its
   * counters go on under a new version-vector key: what it holds now is concurrent with every
   * version its peers have, never older, and a file changed meanwhile becomes a conflict (both
   * kept) instead of being overwritten by the last version it synced. No settled token vouches
   * for such an index (the next run plans in full). The same goes for a replica its peers have
   * seen in a later state (engine/generations.ts), with the key the run chose.
   */
  private rekeyed(marker: string, known: ReplicaMeta | undefined, vvKey = newReplicaId()): ReplicaMeta {
    if (known === undefined) return { replicaId: marker, createdAt: this.deps.now(), peers: {}, vvKey };
    const { settled: _unvouched, ...kept } = known;
    return { ...kept, vvKey };
  }

  private fileInfo(): Pick<OpenInfo, 'singleFile' | 'fileName'> {
    const only = this.layout.only;
    return only === undefined ? { singleFile: false } : { singleFile: true, fileName: only };
  }

  /**
   * Another root of this run is a single file, so this one must be too: the root path names the
   * file. Only a folder root that does not exist yet can change (nothing of it was opened).
   */
  private becomeFile(): void {
    const { root } = this.layout;
    if (fs.existsSync(root)) {
      throw new FerryError(
        'USAGE',
        `${this.label} is a folder, but another root of this run is a single file`,
        {
          hint: 'sync folders with folders, and a file with files of the same name',
        },
      );
    }
    if (this.layout.foldersOnly === true || this.store !== undefined) {
      throw new FerryError('BAD_ROOT', `${this.label} can only be served as a folder`, {
        hint: 'a confined agent (ferry serve --root) keeps all its state inside its folder: sync the folder that holds the file',
      });
    }
    this.layout = fileLayout(root);
  }

  async readIgnoreFile(): Promise<string | undefined> {
    return this.ignoreText();
  }

  /** A .ferryignore that is a symlink is synced as a link like any other, never read through. */
  private ignoreText(): string | undefined {
    if (this.layout.only !== undefined) return undefined;
    let fd: number | undefined;
    try {
      fd = fs.openSync(`${this.layout.root}/${IGNORE_FILE}`, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      return fs.readFileSync(fd, 'utf8');
    } catch {
      return undefined;
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  }

  warm(ignore: readonly string[]): Promise<void> {
    if (this.warming !== undefined || this.layout.only !== undefined || !isDir(this.layout.root))
      return Promise.resolve();
    const own = this.ignoreText()?.split(/\r?\n/) ?? [];
    let rules: IgnoreMatcher;
    try {
      rules = makeIgnore([...ignore, ...own]);
    } catch {
      return Promise.resolve(); // the scan reports bad rules itself
    }
    // Never rejects: a failed look is an empty one, and the scan asks the filesystem itself.
    this.warming = prefetchTree({
      fs: this.deps.fs,
      root: this.layout.root,
      previous: this.records,
      ignore: rules,
      newHasher: this.deps.newHasher,
      chunkThreshold: this.chunkThreshold,
      stopped: () => this.closing,
      ...(this.deps.streamHasher ? { streamHasher: this.deps.streamHasher } : {}),
    }).catch(() => new ScanCache());
    return this.warming.then(() => undefined);
  }

  async scan(opts: ScanOptions): Promise<ScanResult> {
    if (opts.rekey !== undefined && this.meta) {
      this.meta = this.rekeyed(this.meta.replicaId, this.meta, opts.rekey);
      if (!opts.dryRun && this.store) await this.store.writeMeta(this.meta);
    }
    const replicaId = this.meta?.vvKey ?? (this.meta?.replicaId || 'new');
    const threshold = opts.chunkThreshold ?? DEFAULT_CHUNK_THRESHOLD;
    const early = await this.warming;
    this.warming = undefined;
    // The early look counts only if it cut files into chunks as this scan does.
    const cache = threshold === this.chunkThreshold ? early : undefined;
    this.chunkThreshold = threshold;
    if (!isDir(this.layout.root)) return { entries: [], stats: [], problems: [], unseen: [], hashedBytes: 0 };
    const out = await scanTree({
      fs: this.deps.fs,
      root: this.layout.root,
      replicaId,
      previous: this.records,
      ...(this.hints === undefined ? {} : { hints: this.hints }),
      ignore: makeIgnore(opts.ignore),
      newHasher: this.deps.newHasher,
      chunkThreshold: this.chunkThreshold,
      ...(this.layout.only !== undefined ? { only: this.layout.only } : {}),
      ...(this.deps.streamHasher ? { streamHasher: this.deps.streamHasher } : {}),
      ...(cache ? { cache } : {}),
    });
    const before = this.records;
    this.records = out.records;
    // Now, before the run may send any of these versions to a peer: a counter bumped here must be
    // in the index before another replica can hold it, or the next scan would give it to another
    // version (so a run refused later, e.g. for mass delete, still keeps what its scan saw).
    if (!opts.dryRun) await this.index?.persist(out.changes);
    // Hints speak of the run before this one: used once, by this scan, then ended.
    if (!opts.dryRun && this.hints !== undefined) {
      await this.index?.unannounce(this.hints.keys());
      this.hints = undefined;
    }
    // The index was loaded exactly as the converged run `relativeTo` left it (the store drops the
    // token when anything follows it), and records = that state + out.changes; a forgotten path
    // (newly ignored) cannot be said as a change, so such a scan answers in full. A new stat with
    // the same entry (a folder's mtime) is no change of state: the apply checks it by the index.
    const relative =
      opts.relativeTo !== undefined &&
      opts.relativeTo === this.meta?.settled &&
      out.changes.every((c) => c.record !== null);
    const listed = relative
      ? out.changes.flatMap((c) =>
          c.record && before.get(c.path)?.entry !== c.record.entry ? [c.record] : [],
        )
      : out.records.values();
    const entries: Entry[] = [];
    const stats: ScanResult['stats'][number][] = [];
    for (const rec of listed) {
      entries.push(rec.entry);
      stats.push(rec.stat ?? null);
    }
    // The token vouches for an index left exactly as the converged run left it (engine/settled.ts).
    // A folder's new stat after files moved in is no change of state; anything else is. (Once
    // persisted, even those refreshes drop the token on disk until finish() writes it again.)
    const changed = out.changes.some(
      (c) => c.record === null || before.get(c.path)?.entry !== c.record.entry,
    );
    const settled =
      !changed && out.problems.length === 0 && out.unseen.length === 0 ? this.meta?.settled : undefined;
    const partials = this.partials?.list() ?? [];
    return {
      entries,
      stats,
      problems: out.problems,
      unseen: out.unseen,
      hashedBytes: out.hashedBytes,
      ...(settled === undefined ? {} : { settled }),
      ...(partials.length === 0 ? {} : { partials }),
      ...(relative ? { relativeTo: opts.relativeTo } : {}),
      ...(opts.priors
        ? { priors: out.changes.map((c) => ({ path: c.path, entry: before.get(c.path)?.entry ?? null })) }
        : {}),
    };
  }

  async read(reqs: readonly ReadRequest[]): Promise<ReadReply[]> {
    // One buffer for the whole request, each reply a view of it: a batch of 2000 small files is
    // one allocation, not 2000, reused once the engine recycles it (read-arenas.ts). A request too
    // large for one gets a buffer per piece.
    const total = reqs.reduce((n, r) => n + r.length, 0);
    const arena = this.arenas.take(total);
    let at = 0;
    return Promise.all(
      reqs.map((r) => {
        const into = arena?.subarray(at, at + r.length);
        at += r.length;
        return verifyRead(this.deps.fs, this.deps.newHasher, this.layout.root, r, into);
      }),
    );
  }

  recycle(data: readonly Uint8Array[]): void {
    this.arenas.recycle(data);
  }

  async chunkLists(reqs: readonly ChunkListRequest[]): Promise<ChunkListReply[]> {
    const out: ChunkListReply[] = [];
    for (const r of reqs)
      out.push(await fineChunkList(this.deps.fs, this.deps.newHasher, this.layout.root, r));
    return out;
  }

  private env() {
    const meta = this.layout.meta;
    const tmp = tempPlace(this.layout);
    this.history ??= new History(this.deps.fs, runFolder(`${meta}/history/${runStamp(this.deps.now())}`));
    return {
      fs: this.deps.fs,
      root: this.layout.root,
      tmpDir: tmp.dir,
      durable: this.durable,
      chunkThreshold: this.chunkThreshold,
      history: this.history,
      newHasher: this.deps.newHasher,
      ...(this.deps.streamHasher ? { streamHasher: this.deps.streamHasher } : {}),
      umask: currentUmask,
      ...(this.index ? { barrier: this.index.syncAndRecord.bind(this.index) } : {}),
      currentRecord: (p: string) => this.records.get(p),
      source: (p: string) => this.sourcePath(p),
      tempName: () => `${tmp.prefix}${process.pid}-${++this.tempCounter}`,
    };
  }

  /** A local piece's source: a tree path, or this replica's kept partial (core/path.ts). */
  private sourcePath(p: string): string {
    const hash = partialHashOf(p);
    if (hash === undefined) return `${this.layout.root}/${p}`;
    return this.partials?.source(hash) ?? `${this.layout.meta}/partial/${hash}`;
  }

  async apply(ops: readonly ApplyOp[]): Promise<ApplyReply[]> {
    await this.index?.announce(ops);
    const { replies, changes } = await applyBatch(this.env(), ops);
    await this.index?.unannounceFailed(ops, replies);
    await this.recordApplied(changes);
    ops.forEach((op, i) => {
      if (op.op === 'write') this.settle(op, replies[i]?.ok === true, usesPartial(op.pieces));
    });
    return replies;
  }

  /** A committed file needs its partial no more; a partial its write read from is suspect if it failed. */
  private settle(op: WriteOp, ok: boolean, readPartial: boolean): void {
    if (ok) this.committed.add(op.entry.hash);
    else if (readPartial) this.partials?.drop(op.entry.hash);
  }

  /**
   * Large files are assembled among the partials (adapters/partials.ts), so an interrupted
   * transfer leaves a prefix the next run resumes from; single-file roots use the tree's folder.
   */
  async beginWrite(op: WriteOp): Promise<void> {
    const env = this.env();
    const at = this.partials?.tempPath(op.entry.hash) ?? `${env.tmpDir}/${env.tempName()}`;
    const tmp = await TempFile.create(env.fs, at, {
      newHasher: env.newHasher,
      entry: op.entry,
      chunks: chunkMode(env.chunkThreshold, op.entry),
      ...(env.streamHasher ? { streamHasher: env.streamHasher } : {}),
    });
    await this.staged.begin(op, tmp);
  }

  appendWrite(path: string, pieces: readonly Piece[]): Promise<void> {
    return this.staged.append(path, pieces);
  }

  async finishWrite(path: string): Promise<ApplyReply> {
    const s = await this.staged.take(path);
    if (!s)
      return {
        ok: false,
        path,
        problem: {
          path,
          code: 'changed-during-sync',
          message: 'a local source piece changed during the run; not applied',
        },
      };
    await this.index?.announce([s.op]);
    const { replies, changes } = await applyBatch({ ...this.env(), staged: { path, tmp: s.tmp } }, [s.op]);
    await this.recordApplied(changes);
    const reply = replies[0] ?? {
      ok: false,
      path,
      problem: { path, code: 'write-failed', message: 'no reply' },
    };
    await this.index?.unannounceFailed([s.op], [reply]);
    this.settle(s.op, reply.ok, s.readPartial);
    return reply;
  }

  async finish(opts: FinishOptions): Promise<void> {
    if (opts.dryRun || !this.store || !this.meta) return;
    await this.index?.flush();
    const peers = { ...this.meta.peers };
    for (const [id, label] of Object.entries(opts.peers))
      if (id !== this.meta.replicaId) peers[id] = { label, lastSync: opts.now };
    const { settled: _old, ...meta } = this.meta;
    const gen = opts.gens?.[this.meta.replicaId];
    this.meta = {
      ...meta,
      lastSync: opts.now,
      peers,
      ...(opts.settled === undefined ? {} : { settled: opts.settled }),
      ...(gen === undefined || opts.gens === undefined ? {} : { gen, knownGens: opts.gens }),
    };
    await this.store.writeMeta(this.meta);
    if (gen !== undefined) writeHostGen(this.meta.replicaId, gen);
    this.dropCommitted();
    if (this.index && this.index.appended > Math.max(20000, this.records.size / 2)) {
      await this.store.compact({ meta: this.meta, records: this.records });
      this.index.appended = 0;
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.warming;
    this.warming = undefined;
    // A transfer cut off here (the link dropped, the run failed) stays as a partial to resume.
    await this.staged.abandon(this.partials !== undefined);
    try {
      this.dropCommitted();
      this.partials?.tidy();
    } catch {
      // tidied again at the next open
    }
    try {
      await this.index?.flush();
    } catch {
      // unrecorded changes are found again by the next scan as equal content (I3)
    }
    await this.store?.close();
    this.store = undefined;
    this.index = undefined;
    this.release?.();
    this.release = undefined;
  }

  private dropCommitted(): void {
    for (const h of this.committed) this.partials?.drop(h);
    this.committed.clear();
  }

  /** Applied changes are visible in memory at once and reach the index after the next sync. */
  private async recordApplied(changes: readonly IndexChange[]): Promise<void> {
    for (const c of changes) {
      if (c.record) this.records.set(c.path, c.record);
      else this.records.delete(c.path);
    }
    await this.index?.applied(changes);
  }
}

const currentUmask = (() => {
  const m = process.umask(0o022);
  process.umask(m);
  return m;
})();

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Temp files left by an interrupted run are never visible content: remove them (we hold the lock). */
function cleanTemp(place: { dir: string; prefix: string }): void {
  for (const name of fs.readdirSync(place.dir)) {
    if (name.startsWith(place.prefix)) fs.rmSync(`${place.dir}/${name}`, { force: true, recursive: true });
  }
}

/** A run's own history folder: a run in the same second as the one before gets `-2`, `-3`... */
function runFolder(stamped: string): string {
  let dir = stamped;
  for (let n = 2; fs.existsSync(dir); n++) dir = `${stamped}-${n}`;
  return dir;
}

function runStamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

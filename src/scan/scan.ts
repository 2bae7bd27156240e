import { type Entry, type FileEntry, sameContent } from '../core/entry.ts';
import { FerryError } from '../core/errors.ts';
import { checkChildName, inMetaDir, isWithin, joinRel, META_DIR } from '../core/path.ts';
import type { Problem } from '../core/problem.ts';
import { bump, emptyVector, type VersionVector } from '../core/vv.ts';
import type { DirItem, FileSystem, FsStat, HasherFactory, StreamHasherFactory } from '../ports/filesystem.ts';
import { FsError } from '../ports/filesystem.ts';
import type { IndexChange, IndexRecord } from '../ports/index-store.ts';
import { type HashedFile, hashFile } from './hash-file.ts';
import type { IgnoreMatcher } from './ignore.ts';
import type { ScanCache } from './prefetch.ts';
import { fileNeedsHash, sameStat, stampOf } from './stat-stamp.ts';

export const DEFAULT_CHUNK_THRESHOLD = 1 << 20;

export interface ScanInput {
  readonly fs: FileSystem;
  /** Absolute path of the replica root (a folder). */
  readonly root: string;
  readonly replicaId: string;
  readonly previous: ReadonlyMap<string, IndexRecord>;
  /**
   * What an interrupted run was about to write (IndexSnapshot.hints): a path found holding exactly
   * that gets its version vector, as the run would have recorded it, instead of counting as a
   * change made here (which would be a false conflict with the next edit of its source).
   */
  readonly hints?: ReadonlyMap<string, IndexRecord>;
  readonly ignore: IgnoreMatcher;
  readonly newHasher: HasherFactory;
  /** Hashes large files on another thread (scan/hash-file.ts); absent: all on this one. */
  readonly streamHasher?: StreamHasherFactory;
  readonly chunkThreshold: number;
  /** For a single-file root: the only path scanned, relative to `root`. */
  readonly only?: string;
  /** What an early look at the tree saw (scan/prefetch.ts): taken instead of asking again. */
  readonly cache?: ScanCache;
}

export interface ScanOutput {
  readonly records: Map<string, IndexRecord>;
  readonly changes: IndexChange[];
  readonly problems: Problem[];
  readonly unseen: string[];
  readonly hashedBytes: number;
}

/**
 * Walks the root and compares it with the previous index. Only files whose size, mtime, ctime or
 * inode changed are read again. A local change bumps this replica's counter; a path that vanished
 * becomes a tombstone; a path that could not be read keeps its old record and is reported (I6).
 */
export async function scanTree(input: ScanInput): Promise<ScanOutput> {
  const s = new Scanner(input);
  // The walk is synchronous (a no-op scan is 100k stats: promise overhead per path would double
  // it); files whose stat changed are queued and hashed afterwards.
  if (input.only !== undefined) s.visit(input.only);
  else s.walkDir('');
  for (const job of s.toHash.splice(0)) await s.hashQueued(job);
  s.finishDeletions();
  return {
    records: s.records,
    changes: s.changes,
    problems: s.problems,
    unseen: s.unseen,
    hashedBytes: s.hashedBytes,
  };
}

class Scanner {
  readonly records = new Map<string, IndexRecord>();
  readonly changes: IndexChange[] = [];
  readonly problems: Problem[] = [];
  readonly unseen: string[] = [];
  hashedBytes = 0;
  readonly toHash: { rel: string; prev: IndexRecord | undefined; st: FsStat }[] = [];

  constructor(private readonly in_: ScanInput) {}

  private abs(rel: string): string {
    return rel === '' ? this.in_.root : `${this.in_.root}/${rel}`;
  }

  private problem(path: string, code: Problem['code'], message: string): void {
    this.problems.push({ path, code, message });
  }

  /** Keep the previous record of a path (and its subtree) untouched: this run cannot see it. */
  private keepUnseen(rel: string): void {
    this.unseen.push(rel);
  }

  walkDir(rel: string): void {
    let items: ReturnType<FileSystem['readdir']>;
    try {
      items = this.in_.cache?.takeDir(rel) ?? this.in_.fs.readdir(this.abs(rel));
    } catch (e) {
      if (rel === '') throw rootUnreadable(this.in_.root, e);
      this.problem(rel, 'unreadable', `cannot list directory: ${errText(e)}`);
      this.keepUnseen(rel);
      return;
    }
    for (const item of items) {
      if (item.name === META_DIR) continue; // at any depth (core/path.ts inMetaDir)
      const child = joinRel(rel, item.name);
      if (item.badName) {
        this.problem(child, 'bad-name', 'name is not valid UTF-8; rename it to sync it');
        continue;
      }
      const bad = checkChildName(item.name, child);
      if (bad !== undefined) {
        this.problem(child, 'bad-name', `cannot sync this name: ${bad}`);
        this.keepUnseen(child);
        continue;
      }
      if (
        item.kind !== 'unknown' &&
        item.kind !== 'special' &&
        this.in_.ignore.ignores(child, item.kind === 'dir')
      )
        continue;
      this.visit(child, item.kind);
    }
  }

  /** `listedAs`: the kind readdir reported, already tested against the ignore rules. */
  visit(rel: string, listedAs?: DirItem['kind']): void {
    let st: FsStat;
    try {
      st = this.in_.cache?.takeStat(rel) ?? this.in_.fs.lstat(this.abs(rel));
    } catch (e) {
      if (e instanceof FsError && e.code === 'ENOENT') return; // gone between readdir and lstat: a deletion
      this.problem(rel, 'unreadable', `cannot stat: ${errText(e)}`);
      this.keepUnseen(rel);
      return;
    }
    if (st.kind !== listedAs && this.in_.ignore.ignores(rel, st.kind === 'dir')) return;
    const prev = this.in_.previous.get(rel);
    switch (st.kind) {
      case 'dir':
        this.record(
          rel,
          prev,
          st,
          prev?.entry.kind === 'dir'
            ? prev.entry
            : this.changed({ kind: 'dir', path: rel, vv: emptyVector }, prev),
        );
        this.walkDir(rel);
        return;
      case 'symlink':
        this.visitSymlink(rel, prev, st);
        return;
      case 'file':
        this.visitFile(rel, prev, st);
        return;
      case 'special':
        this.problem(rel, 'special-file', 'FIFO, socket or device file: skipped');
        this.keepUnseen(rel);
        return;
    }
  }

  private visitSymlink(rel: string, prev: IndexRecord | undefined, st: FsStat): void {
    let target: string;
    try {
      target = this.in_.fs.readlink(this.abs(rel));
    } catch (e) {
      this.problem(rel, 'unreadable', `cannot read link: ${errText(e)}`);
      this.keepUnseen(rel);
      return;
    }
    const same = prev?.entry.kind === 'symlink' && prev.entry.target === target;
    this.record(
      rel,
      prev,
      st,
      same ? prev.entry : this.changed({ kind: 'symlink', path: rel, vv: emptyVector, target }, prev),
    );
  }

  private visitFile(rel: string, prev: IndexRecord | undefined, st: FsStat): void {
    if (prev !== undefined && !fileNeedsHash(prev, st)) {
      this.records.set(rel, prev);
      return;
    }
    this.toHash.push({ rel, prev, st });
  }

  async hashQueued(job: { rel: string; prev: IndexRecord | undefined; st: FsStat }): Promise<void> {
    const { rel, prev, st } = job;
    const exec = (st.mode & 0o111) !== 0;
    const p = prev?.entry;
    let hashed: HashedFile;
    try {
      hashed =
        this.in_.cache?.takeHash(rel, st) ??
        (await hashFile(this.in_.fs, this.abs(rel), {
          newHasher: this.in_.newHasher,
          chunkThreshold: this.in_.chunkThreshold,
          sizeHint: st.size,
          ...(this.in_.streamHasher ? { streamHasher: this.in_.streamHasher } : {}),
        }));
    } catch (e) {
      if (e instanceof FsError && e.code === 'ENOENT') {
        return;
      }
      this.problem(rel, 'unreadable', `cannot read: ${errText(e)}`);
      this.keepUnseen(rel);
      return;
    }
    this.hashedBytes += hashed.size;
    if (!sameStat(stampOf(st), hashed.after) || hashed.size !== st.size) {
      this.problem(rel, 'changed-during-sync', 'file changed while it was read; it will be synced next run');
      this.keepUnseen(rel);
      return;
    }
    const found: FileEntry = {
      kind: 'file',
      path: rel,
      vv: emptyVector,
      size: hashed.size,
      mtime: st.mtime,
      exec,
      hash: hashed.hash,
      ...(hashed.chunks ? { chunks: hashed.chunks } : {}),
    };
    const unchanged = p?.kind === 'file' && sameContent(p, found);
    this.record(rel, prev, st, unchanged ? { ...found, vv: p.vv } : this.changed(found, prev));
  }

  /**
   * `found` (its vector still to be given) differs from what the index held at its path: it gets
   * the vector an interrupted apply planned, if that apply's hint names exactly this content (as
   * the apply would have recorded it), else it is a change made here.
   */
  private changed<E extends Entry>(found: E, prev: IndexRecord | undefined): E {
    const hint = this.in_.hints?.get(found.path)?.entry;
    const vv = hint !== undefined && sameContent(hint, found) ? hint.vv : nextVv(prev, this.in_.replicaId);
    return { ...found, vv };
  }

  private record(rel: string, prev: IndexRecord | undefined, st: FsStat, entry: Entry): void {
    const rec: IndexRecord = { entry, stat: stampOf(st) };
    this.records.set(rel, rec);
    if (!prev || prev.entry !== entry || !prev.stat || !sameStat(prev.stat, st))
      this.changes.push({ path: rel, record: rec });
  }

  /** Previous live paths not seen now (and not in an unseen subtree) were deleted: tombstones. */
  finishDeletions(): void {
    const only = this.in_.only;
    for (const [rel, prev] of this.in_.previous) {
      if (this.records.has(rel)) continue;
      if (only !== undefined && rel !== only) continue;
      if (this.unseen.some((u) => isWithin(rel, u))) {
        this.records.set(rel, prev);
        continue;
      }
      if (inMetaDir(rel) || this.in_.ignore.ignores(rel, prev.entry.kind === 'dir')) {
        this.changes.push({ path: rel, record: null }); // newly ignored: forget, do not delete
        continue;
      }
      if (prev.entry.kind === 'tombstone') {
        this.records.set(rel, prev);
        continue;
      }
      const rec: IndexRecord = {
        entry: this.changed({ kind: 'tombstone', path: rel, vv: emptyVector }, prev),
      };
      this.records.set(rel, rec);
      this.changes.push({ path: rel, record: rec });
    }
  }
}

/** Every path new to a replica starts with the same vector: one shared object, never mutated. */
let firstVector: { readonly replicaId: string; readonly vv: VersionVector } | undefined;

function nextVv(prev: IndexRecord | undefined, replicaId: string): VersionVector {
  if (prev !== undefined) return bump(prev.entry.vv, replicaId);
  if (firstVector?.replicaId !== replicaId) firstVector = { replicaId, vv: bump(emptyVector, replicaId) };
  return firstVector.vv;
}

function errText(e: unknown): string {
  if (e instanceof FsError) return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

function rootUnreadable(root: string, e: unknown): FerryError {
  return new FerryError('BAD_ROOT', `cannot read the root folder ${root}: ${errText(e)}`, {
    hint: 'check that the folder exists and that you may read it',
    cause: e,
  });
}

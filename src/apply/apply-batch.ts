import { type Entry, sameContent } from '../core/entry.ts';
import type { Problem } from '../core/problem.ts';
import type { FileSystem, FsStat, HasherFactory, StreamHasherFactory } from '../ports/filesystem.ts';
import { FsError } from '../ports/filesystem.ts';
import type { IndexChange, IndexRecord } from '../ports/index-store.ts';
import type { ApplyOp, ApplyReply, WriteOp } from '../ports/replica.ts';
import { AncestorGuard, changed, checkExpect, isProblem } from './guard.ts';
import type { History } from './history.ts';
import { keptAsSeen, placeNew, putBack } from './place.ts';
import { chunkMode, type SourceResolver, TempFile, treeSource, withOwnChunks } from './temp-file.ts';

export interface ApplyEnv {
  readonly fs: FileSystem;
  readonly root: string;
  readonly tmpDir: string;
  readonly history: History;
  readonly newHasher: HasherFactory;
  /** Hashes large files on another thread (apply/temp-file.ts); absent: all on this one. */
  readonly streamHasher?: StreamHasherFactory;
  readonly umask: number;
  readonly currentRecord: (path: string) => IndexRecord | undefined;
  readonly tempName: () => string;
  /** false: skip the filesystem syncs (--no-fsync); renames stay atomic. */
  readonly durable: boolean;
  /**
   * The durability barrier before the renames (default: a filesystem sync of tmpDir). A caller
   * may do more with it: whatever was renamed before it started is durable once it resolves.
   */
  readonly barrier?: () => Promise<void>;
  /** Files this size or larger get the chunk list of their bytes recorded (the scan's threshold). */
  readonly chunkThreshold?: number;
  /** Where local pieces are read from (default: the tree under `root`). */
  readonly source?: SourceResolver;
  /** A large file already assembled by beginWrite/appendWrite, to be sealed and committed. */
  readonly staged?: { readonly path: string; readonly tmp: TempFile };
}

export interface BatchResult {
  readonly replies: ApplyReply[];
  /**
   * Index changes for what was applied. The new contents are durable, the renames that put them
   * in place not yet: the caller must sync the filesystem before recording these (I3).
   */
  readonly changes: IndexChange[];
}

/**
 * Applies ops in order with batched durability: all new file contents are written to temp files
 * and verified, made durable with one filesystem sync, then renamed into place after a fresh I4
 * check each. A crash at any point leaves old or new content at every path, never a torn file;
 * the caller makes the renames durable (one more sync) before it records the returned changes.
 */
export async function applyBatch(env: ApplyEnv, ops: readonly ApplyOp[]): Promise<BatchResult> {
  const guard = new AncestorGuard(env.fs, env.root);
  const prepared = new Map<number, TempFile>();
  const replies: (ApplyReply | undefined)[] = ops.map(() => undefined);
  for (const [i, op] of ops.entries()) {
    if (op.op !== 'write') continue;
    const r = await prepareWrite(env, guard, op);
    if (r instanceof TempFile) prepared.set(i, r);
    else replies[i] = fail(op.path, r);
  }
  if (prepared.size > 0 && env.durable)
    await (env.barrier ? env.barrier() : env.fs.syncFilesystem(env.tmpDir));
  const changes: IndexChange[] = [];
  for (const [i, op] of ops.entries()) {
    if (replies[i]) continue;
    try {
      const out = await commitOp(env, guard, op, prepared.get(i));
      if ('code' in out) replies[i] = fail(op.path, out);
      else {
        changes.push(...out.changes);
        replies[i] = { ok: true, path: op.path, bytesWritten: out.bytes };
      }
    } catch (e) {
      await prepared.get(i)?.discard();
      replies[i] = fail(op.path, { path: op.path, code: 'write-failed', message: errText(e) });
    }
  }
  return { replies: replies.map((r, i) => r ?? fail(ops[i]?.path ?? '', internal())), changes };
}

async function prepareWrite(env: ApplyEnv, guard: AncestorGuard, op: WriteOp): Promise<TempFile | Problem> {
  const abs = `${env.root}/${op.path}`;
  // A new path is checked once, just before its rename (commitOp, I4): checking it here as well
  // cost a stat per new file and only spared the temp file of a path that appeared meanwhile.
  const checked =
    guard.check(op.path) ??
    (op.expect.kind === 'absent'
      ? { seen: undefined }
      : checkExpect(env.fs, abs, op.path, op.expect, env.currentRecord));
  if (isProblem(checked)) {
    await env.staged?.tmp.discard();
    return checked;
  }
  const staged = env.staged?.path === op.path ? env.staged.tmp : undefined;
  const chunks = chunkMode(env.chunkThreshold, op.entry);
  // The mode comes from what the I4 check saw; commitOp checks the path again before the rename.
  const mode = fileMode(op.entry.exec, checked.seen, env.umask);
  // A new file's mode carries nothing private (it is the umask's), so it is created with it: one
  // chmod less per file. A replaced file's temp stays 0o600 until it gets the old file's mode.
  const modeAtCreate = staged === undefined && checked.seen === undefined ? mode : undefined;
  const tmp =
    staged ??
    (await TempFile.create(env.fs, `${env.tmpDir}/${env.tempName()}`, {
      newHasher: env.newHasher,
      entry: op.entry,
      chunks,
      ...(env.streamHasher ? { streamHasher: env.streamHasher } : {}),
      ...(modeAtCreate !== undefined ? { mode: modeAtCreate } : {}),
    }));
  try {
    const bad =
      (staged ? undefined : await tmp.append(op.pieces, env.source ?? treeSource(env.root), env.newHasher)) ??
      (await tmp.seal(op.entry, op.path));
    if (bad) {
      await tmp.discard();
      return bad;
    }
    if (modeAtCreate === undefined) await env.fs.chmod(tmp.tmpPath, mode);
    await env.fs.utimes(tmp.tmpPath, op.entry.mtime, op.entry.mtime);
    return tmp;
  } catch (e) {
    await tmp.discard();
    return { path: op.path, code: 'write-failed', message: errText(e) };
  }
}

type Committed = { readonly changes: IndexChange[]; readonly bytes: number };

async function commitOp(
  env: ApplyEnv,
  guard: AncestorGuard,
  op: ApplyOp,
  tmp: TempFile | undefined,
): Promise<Committed | Problem> {
  const { fs, root } = env;
  const abs = `${root}/${op.path}`;
  if (op.op === 'record') {
    const prev = env.currentRecord(op.path);
    // A record only adopts a vector for what this replica already holds; never let it vouch, with
    // the old stat, for content the index does not have (a plan built from a relative scan).
    if (prev && !sameContent(prev.entry, op.entry)) {
      return {
        path: op.path,
        code: 'changed-during-sync',
        message:
          'left alone: this replica no longer holds what the run planned from; the next run will pick it up',
      };
    }
    const stat = prev?.stat && prev.entry.kind === op.entry.kind ? prev.stat : undefined;
    const entry = withOwnChunks(op.entry, prev?.entry);
    return done([{ path: op.path, record: stat ? { entry, stat } : { entry } }]);
  }
  // A new file needs no stat first: placeNew's hard link refuses a path that is taken (I4), and
  // with no window. Acting on the check's own stat otherwise: re-stat-ing here would not close the
  // window before the rename any further, and costs a syscall per file.
  const checked =
    guard.check(op.path) ??
    (op.op === 'write' && op.expect.kind === 'absent'
      ? { seen: undefined }
      : checkExpect(fs, abs, op.path, op.expect, env.currentRecord));
  if (isProblem(checked)) {
    await tmp?.discard();
    return checked;
  }
  const seen = checked.seen;
  switch (op.op) {
    case 'write': {
      if (!tmp) return internal();
      const cleared = await clearForReplace(env, op.path, 'file', seen);
      if (refused(cleared)) {
        await tmp.discard();
        return cleared;
      }
      if (cleared !== undefined) await renameOrUnkeep(env, tmp.tmpPath, abs, cleared);
      else {
        const taken = await placeNew(fs, tmp.tmpPath, abs, op.path);
        if (taken) {
          await tmp.discard();
          return taken;
        }
      }
      return done([recordAt(fs, abs, tmp.recorded(op.entry))], tmp.bytes);
    }
    case 'mkdir': {
      const cleared = await clearForReplace(env, op.path, 'dir', seen);
      if (refused(cleared)) return cleared;
      if (seen?.kind !== 'dir') await fs.mkdir(abs, { recursive: false });
      return done([recordAt(fs, abs, op.entry)]);
    }
    case 'symlink': {
      const tmpLink = `${env.tmpDir}/${env.tempName()}`;
      await fs.symlink(op.entry.target, tmpLink);
      const cleared = await clearForReplace(env, op.path, 'symlink', seen);
      if (refused(cleared)) {
        await fs.unlink(tmpLink);
        return cleared;
      }
      await renameOrUnkeep(env, tmpLink, abs, cleared);
      return done([recordAt(fs, abs, op.entry)]);
    }
    case 'delete': {
      if (seen?.kind === 'dir') {
        const p = await removeDir(fs, abs, op.path);
        if (p) return p;
        guard.forget(op.path);
      } else if (seen) {
        const moved = await moveAside(env, op.path, seen);
        if (moved) return moved;
      }
      return done([{ path: op.path, record: { entry: op.entry } }]);
    }
    case 'rename': {
      const to = `${root}/${op.to}`;
      const toChecked =
        guard.check(op.to) ?? checkExpect(fs, to, op.to, { kind: 'absent' }, env.currentRecord);
      if (isProblem(toChecked)) return toChecked;
      await fs.rename(abs, to);
      const gone: Entry = {
        kind: 'tombstone',
        path: op.path,
        vv: op.expect.kind === 'entry' ? op.expect.entry.vv : op.entry.vv,
      };
      const moved = withOwnChunks(op.entry, env.currentRecord(op.path)?.entry);
      return done([recordAt(fs, to, moved), { path: op.path, record: { entry: gone } }]);
    }
  }
}

/**
 * Makes room at a path for a new `kind`: a replaced file is linked into history (returned: the
 * history path), a replaced symlink moved there; a directory in the way must already be empty
 * (its children were deleted in an earlier phase) and is removed. What went to history is checked
 * to be what the I4 check saw: a save in between is left live and refused as changed.
 */
async function clearForReplace(
  env: ApplyEnv,
  rel: string,
  kind: 'file' | 'dir' | 'symlink',
  st: FsStat | undefined,
): Promise<Problem | string | undefined> {
  const abs = `${env.root}/${rel}`;
  if (st === undefined) return undefined;
  if (st.kind === 'dir') return kind === 'dir' ? undefined : removeDir(env.fs, abs, rel);
  if (st.kind === 'file' && kind !== 'dir') {
    const kept = await env.history.keepBeforeReplace(abs, rel);
    if (keptAsSeen(env.fs, { kept: kept.path, live: abs, copied: kept.copied }, st)) return kept.path;
    await env.history.unkeep(kept.path);
    return changed(rel, 'it was saved again just now');
  }
  return moveAside(env, rel, st);
}

/** Moves a file or symlink into history; one saved again since the check goes back (see place.ts). */
async function moveAside(env: ApplyEnv, rel: string, seen: FsStat): Promise<Problem | undefined> {
  const abs = `${env.root}/${rel}`;
  const kept = await env.history.moveIn(abs, rel);
  if (keptAsSeen(env.fs, { kept, live: abs, copied: false }, seen)) return undefined;
  if (await putBack(env.fs, kept, abs)) return changed(rel, 'it was saved again just now');
  return {
    path: rel,
    code: 'changed-during-sync',
    message: `it was saved again just now, and could not be put back: that version is in ${kept}`,
  };
}

const refused = (cleared: Problem | string | undefined): cleared is Problem => typeof cleared === 'object';

/** The replacing rename; if it fails, the file it was to replace is still live: drop its history copy. */
async function renameOrUnkeep(
  env: ApplyEnv,
  from: string,
  to: string,
  kept: string | undefined,
): Promise<void> {
  try {
    await env.fs.rename(from, to);
  } catch (e) {
    if (kept !== undefined) await env.history.unkeep(kept);
    throw e;
  }
}

async function removeDir(fs: FileSystem, abs: string, rel: string): Promise<Problem | undefined> {
  try {
    await fs.rmdir(abs);
    return undefined;
  } catch (e) {
    if (e instanceof FsError && (e.code === 'ENOTEMPTY' || e.code === 'EEXIST')) {
      return {
        path: rel,
        code: 'not-empty',
        message: 'directory kept: it still holds files this run did not sync (ignored or unreadable)',
      };
    }
    throw e;
  }
}

function recordAt(fs: FileSystem, abs: string, entry: Entry): IndexChange {
  const st: FsStat = fs.lstat(abs);
  return {
    path: entry.path,
    record: { entry, stat: { size: st.size, mtime: st.mtime, ctime: st.ctime, ino: st.ino } },
  };
}

function done(changes: IndexChange[], bytes = 0): Committed {
  return { changes, bytes };
}

/** New files get the umask's permissions; replaced files keep theirs with the exec bits set or cleared. */
function fileMode(exec: boolean, existing: FsStat | undefined, umask: number): number {
  if (existing?.kind === 'file') {
    const m = existing.mode & 0o7777;
    return exec ? m | ((m & 0o444) >> 2) : m & ~0o111;
  }
  return (exec ? 0o777 : 0o666) & ~umask;
}

function fail(path: string, problem: Problem): ApplyReply {
  return { ok: false, path, problem };
}

function internal(): Problem {
  return {
    path: '',
    code: 'write-failed',
    message: 'internal error (a bug in ferry): op without prepared content',
  };
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * An in-memory model of N replicas for property tests of the pure core. Each replica has a "disk"
 * (path -> file | dir), an index (path -> Entry, as the scan leaves it) and a history (contents a
 * sync moved aside, I1). `scan` follows src/scan/scan.ts; `syncSubset` runs the real `reconcile`
 * and applies its plan in src/engine/execute.ts's phase order with the checks src/apply makes
 * (I4 expectations, empty directories only, parents present). Anything the real engine would
 * report as a problem is a `SimViolation` here: for a plan made from a consistent scan, it is a
 * bug in the plan.
 * Content is a string; a file's `hash` is its content and `size` its length.
 */
import { type Entry, type FileEntry, isLive, type LiveEntry, sameContent } from '../../src/core/entry.ts';
import { ancestors, depth, parentOf } from '../../src/core/path.ts';
import type { Action, ConflictRule, Plan, SyncMode } from '../../src/core/plan.ts';
import { type ReplicaState, reconcile } from '../../src/core/reconcile.ts';
import { bump, compare, emptyVector, type VersionVector, vectorKey } from '../../src/core/vv.ts';

export type DiskNode =
  | { readonly kind: 'file'; readonly content: string; readonly mtime: number }
  | { readonly kind: 'dir' };

export interface SimReplica {
  readonly id: string;
  readonly disk: Map<string, DiskNode>;
  index: Map<string, Entry>;
  /** Contents a sync moved out of the tree (replaced or deleted), in order. */
  readonly history: string[];
  /** Contents the user overwrote or deleted by hand: gone by the user's own doing. */
  readonly trash: string[];
}

export class SimViolation extends Error {
  override readonly name = 'SimViolation';
}

export interface SyncOptions {
  readonly mode?: SyncMode;
  readonly conflict?: ConflictRule;
  /** Also check that reconcile on the reversed replica order plans the same thing (I7). */
  readonly checkPermutation?: boolean;
  /** Check that every concurrent (not superseded) live version stays live somewhere (keep-both). */
  readonly checkSuperseded?: boolean;
}

const T0 = Date.UTC(2024, 0, 1);

export class Sim {
  readonly replicas: SimReplica[];
  /** Every content ever written by a user edit. */
  readonly written = new Set<string>();
  private tags = 0;
  private seconds = 0;

  constructor(n: number) {
    this.replicas = Array.from({ length: n }, (_, i) => ({
      id: `R${i}`,
      disk: new Map(),
      index: new Map(),
      history: [],
      trash: [],
    }));
  }

  replica(i: number): SimReplica {
    const r = this.replicas[i];
    if (!r) throw new Error(`no replica ${i}`);
    return r;
  }

  /** Moves the clock on by a second, so the next write has a newer mtime (and conflict stamp). */
  tick(): void {
    this.seconds++;
  }

  private now(): number {
    return T0 + this.seconds * 1000;
  }

  /** `mkdir -p` of the parent, then write a fresh unique content. False when a file is in the way. */
  write(r: number, path: string, content?: string): boolean {
    const rep = this.replica(r);
    if (!mkdirs(rep, parentOf(path))) return false;
    const cur = rep.disk.get(path);
    if (cur?.kind === 'dir') return false;
    if (cur?.kind === 'file') rep.trash.push(cur.content);
    const c = content ?? `c${++this.tags}@${rep.id}`;
    this.written.add(c);
    rep.disk.set(path, { kind: 'file', content: c, mtime: this.now() });
    return true;
  }

  /** Writes on r the same content replica `from` holds at path (a manual copy): silent merge. */
  copyFrom(r: number, from: number, path: string): boolean {
    const src = this.replica(from).disk.get(path);
    return src?.kind === 'file' ? this.write(r, path, src.content) : false;
  }

  mkdir(r: number, path: string): boolean {
    return mkdirs(this.replica(r), path);
  }

  /** `rm -r`: file contents go to the user's trash. */
  remove(r: number, path: string): boolean {
    const rep = this.replica(r);
    if (!rep.disk.has(path)) return false;
    for (const p of [...rep.disk.keys()]) {
      if (p !== path && !p.startsWith(`${path}/`)) continue;
      const n = rep.disk.get(p);
      if (n?.kind === 'file') rep.trash.push(n.content);
      rep.disk.delete(p);
    }
    return true;
  }

  /** Scans, reconciles and applies the plan on the given replicas (by index, in that order). */
  sync(subset: readonly number[], opts: SyncOptions = {}): Plan {
    const reps = subset.map((i) => this.replica(i));
    for (const r of reps) r.index = scan(r);
    // a snapshot: applying the plan updates the live indexes
    const states: ReplicaState[] = reps.map((r) => ({ id: r.id, entries: new Map(r.index), unseen: [] }));
    const conflict = opts.conflict ?? { kind: 'keep-both' };
    const ropts = { mode: opts.mode ?? 'sync', conflict } as const;
    const plan = reconcile(states, ropts);
    if (opts.checkPermutation) {
      const last = states.length - 1;
      const flipped: ConflictRule =
        conflict.kind === 'prefer' ? { kind: 'prefer', replica: last - conflict.replica } : conflict;
      const reversed = reconcile([...states].reverse(), { ...ropts, conflict: flipped });
      const a = canonicalPlan(plan, states);
      const b = canonicalPlan(reversed, [...states].reverse());
      if (JSON.stringify(a) !== JSON.stringify(b)) {
        throw new SimViolation(
          `plan depends on replica order:\n${JSON.stringify(a, null, 1)}\nvs reversed:\n${JSON.stringify(b, null, 1)}`,
        );
      }
    }
    const before = opts.checkSuperseded ? liveVersions(reps) : [];
    applyPlan(reps, plan);
    for (const r of reps) checkIndexMatchesDisk(r);
    if (opts.checkSuperseded) checkNotDropped(before, reps, states);
    return plan;
  }

  /** Contents that are nowhere: not on any disk, in any history, nor thrown away by a user. */
  lost(): string[] {
    const found = new Set<string>();
    for (const r of this.replicas) {
      for (const n of r.disk.values()) if (n.kind === 'file') found.add(n.content);
      for (const c of r.history) found.add(c);
      for (const c of r.trash) found.add(c);
    }
    return [...this.written].filter((c) => !found.has(c)).sort();
  }
}

function mkdirs(rep: SimReplica, dir: string | undefined): boolean {
  if (dir === undefined) return true;
  const chain = [dir, ...ancestors(dir)].reverse();
  if (chain.some((d) => rep.disk.get(d)?.kind === 'file')) return false;
  for (const d of chain) rep.disk.set(d, { kind: 'dir' });
  return true;
}

/** src/scan/scan.ts on a model disk: the new index from the previous one and what is on disk. */
export function scan(rep: SimReplica): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const next = (prev: Entry | undefined): VersionVector => bump(prev?.vv ?? emptyVector, rep.id);
  for (const [p, n] of [...rep.disk].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const prev = rep.index.get(p);
    if (n.kind === 'dir') {
      out.set(p, prev?.kind === 'dir' ? prev : { kind: 'dir', path: p, vv: next(prev) });
      continue;
    }
    const unchanged = prev?.kind === 'file' && prev.hash === n.content && !prev.exec;
    const file: FileEntry = {
      kind: 'file',
      path: p,
      vv: unchanged ? prev.vv : next(prev),
      size: n.content.length,
      mtime: n.mtime,
      exec: false,
      hash: n.content,
    };
    out.set(p, unchanged && prev.mtime === n.mtime ? prev : file);
  }
  for (const [p, prev] of rep.index) {
    if (out.has(p)) continue;
    out.set(p, prev.kind === 'tombstone' ? prev : { kind: 'tombstone', path: p, vv: bump(prev.vv, rep.id) });
  }
  return out;
}

type Put = Extract<Action, { type: 'put' }>;

/** src/engine/execute.ts's phases, each on every replica before the next phase starts. */
export function applyPlan(reps: readonly SimReplica[], plan: Plan): void {
  const per = reps.map((_, r) => plan.actions.filter((a) => a.replica === r));
  const at = (r: number): SimReplica => {
    const rep = reps[r];
    if (!rep) throw new SimViolation(`action for unknown replica ${r}`);
    return rep;
  };
  per.forEach((acts, r) => {
    for (const a of acts) if (a.type === 'rename') doRename(at(r), a);
  });
  const puts = per.map((acts) => acts.filter((a): a is Put => a.type === 'put'));
  puts.forEach((ps, r) => {
    const dirs = ps.filter((p) => p.entry.kind === 'dir');
    dirs.sort((a, b) => depth(a.entry.path) - depth(b.entry.path));
    for (const p of dirs) doMkdir(at(r), p);
  });
  const replacesDir = (p: Put) => p.current?.kind === 'dir';
  puts.forEach((ps, r) => {
    for (const p of ps) if (p.entry.kind !== 'dir' && !replacesDir(p)) doPut(reps, r, p);
  });
  per.forEach((acts, r) => {
    const dels = acts.filter((a): a is Extract<Action, { type: 'delete' }> => a.type === 'delete');
    const order = (a: (typeof dels)[number]) =>
      a.current.kind === 'dir' ? 1_000_000 - depth(a.current.path) : -1;
    dels.sort((a, b) => order(a) - order(b));
    for (const d of dels) doDelete(at(r), d);
  });
  puts.forEach((ps, r) => {
    for (const p of ps) if (p.entry.kind !== 'dir' && replacesDir(p)) doPut(reps, r, p);
  });
  per.forEach((acts, r) => {
    for (const a of acts) if (a.type === 'record') doRecord(at(r), a.entry);
  });
}

function where(rep: SimReplica, path: string): string {
  return `${rep.id}:${path}`;
}

function describeNode(n: DiskNode | undefined): string {
  return n === undefined ? 'nothing' : n.kind === 'file' ? `file ${n.content}` : 'dir';
}

/** I4 as src/apply/guard.ts checks it: the disk must still hold what the plan saw. */
function expect(rep: SimReplica, path: string, current: Entry | undefined, what: string): void {
  const n = rep.disk.get(path);
  const ok = isLive(current)
    ? n !== undefined &&
      n.kind === (current.kind === 'dir' ? 'dir' : 'file') &&
      (current.kind !== 'file' || (n.kind === 'file' && n.content === current.hash))
    : n === undefined;
  if (!ok) {
    throw new SimViolation(
      `${what} ${where(rep, path)}: plan expected ${current?.kind ?? 'nothing'} but disk has ${describeNode(n)}`,
    );
  }
}

function parentReady(rep: SimReplica, path: string, what: string): void {
  const dir = parentOf(path);
  if (dir !== undefined && rep.disk.get(dir)?.kind !== 'dir') {
    throw new SimViolation(`${what} ${where(rep, path)}: parent is ${describeNode(rep.disk.get(dir))}`);
  }
}

function hasChildren(rep: SimReplica, dir: string): string[] {
  return [...rep.disk.keys()].filter((p) => p.startsWith(`${dir}/`));
}

function toDisk(e: LiveEntry): DiskNode {
  if (e.kind === 'file') return { kind: 'file', content: e.hash, mtime: e.mtime };
  if (e.kind === 'dir') return { kind: 'dir' };
  throw new SimViolation(`the model has no symlinks (${e.path})`);
}

function doRename(rep: SimReplica, a: Extract<Action, { type: 'rename' }>): void {
  expect(rep, a.path, a.current, 'rename');
  if (rep.disk.has(a.to)) throw new SimViolation(`rename onto existing ${where(rep, a.to)}`);
  parentReady(rep, a.to, 'rename to');
  const n = rep.disk.get(a.path);
  if (n === undefined || n.kind === 'dir')
    throw new SimViolation(`rename of a directory ${where(rep, a.path)}`);
  if (!sameContent(a.current, { ...a.entry, path: a.path })) {
    throw new SimViolation(`rename ${where(rep, a.path)} carries other content than it moves`);
  }
  rep.disk.delete(a.path);
  rep.disk.set(a.to, n);
  rep.index.set(a.to, a.entry);
  rep.index.set(a.path, { kind: 'tombstone', path: a.path, vv: a.current.vv });
}

function doMkdir(rep: SimReplica, p: Put): void {
  const path = p.entry.path;
  expect(rep, path, p.current, 'mkdir');
  parentReady(rep, path, 'mkdir');
  const n = rep.disk.get(path);
  if (n?.kind === 'file') rep.history.push(n.content);
  rep.disk.set(path, { kind: 'dir' });
  rep.index.set(path, p.entry);
}

function doPut(reps: readonly SimReplica[], r: number, p: Put): void {
  const rep = reps[r] as SimReplica;
  const path = p.entry.path;
  expect(rep, path, p.current, 'put');
  parentReady(rep, path, 'put');
  if (p.entry.kind === 'file') {
    // write-files.ts reads the bytes at the entry's path from a source replica
    const hash = p.entry.hash;
    const src = p.sources.find((s) => {
      const n = s === r ? undefined : reps[s]?.disk.get(path);
      return n?.kind === 'file' && n.content === hash;
    });
    if (src === undefined) {
      throw new SimViolation(`put ${where(rep, path)}: no source among [${p.sources}] holds ${hash} there`);
    }
  }
  const n = rep.disk.get(path);
  if (n?.kind === 'dir') {
    const kids = hasChildren(rep, path);
    if (kids.length > 0) throw new SimViolation(`put over non-empty dir ${where(rep, path)}: ${kids}`);
  } else if (n?.kind === 'file') rep.history.push(n.content);
  rep.disk.set(path, toDisk(p.entry));
  rep.index.set(path, p.entry);
}

function doDelete(rep: SimReplica, d: Extract<Action, { type: 'delete' }>): void {
  const path = d.current.path;
  expect(rep, path, d.current, 'delete');
  const n = rep.disk.get(path);
  if (n?.kind === 'dir') {
    const kids = hasChildren(rep, path);
    if (kids.length > 0) throw new SimViolation(`delete of non-empty dir ${where(rep, path)}: ${kids}`);
  } else if (n?.kind === 'file') rep.history.push(n.content);
  rep.disk.delete(path);
  rep.index.set(path, d.entry);
}

function doRecord(rep: SimReplica, e: Entry): void {
  // "the disk is already right": a record must never paper over a difference
  expect(rep, e.path, e, 'record');
  rep.index.set(e.path, e);
}

/**
 * After a sync the index must describe the disk (kind and content; a record may keep another
 * replica's mtime for equal content), or the next scan invents changes.
 */
function checkIndexMatchesDisk(rep: SimReplica): void {
  for (const [p, n] of rep.disk) {
    const e = rep.index.get(p);
    const ok =
      e !== undefined && (n.kind === 'dir' ? e.kind === 'dir' : e.kind === 'file' && e.hash === n.content);
    if (!ok)
      throw new SimViolation(
        `index of ${where(rep, p)} is ${e?.kind ?? 'missing'}, disk has ${describeNode(n)}`,
      );
  }
  for (const [p, e] of rep.index) {
    if (isLive(e) && !rep.disk.has(p))
      throw new SimViolation(`index has live ${e.kind} at ${where(rep, p)}, disk has nothing`);
  }
}

interface Version {
  readonly replica: string;
  readonly path: string;
  readonly content: string;
  readonly vv: VersionVector;
}

function liveVersions(reps: readonly SimReplica[]): Version[] {
  return reps.flatMap((r) =>
    [...r.index.values()].flatMap((e) =>
      e.kind === 'file' ? [{ replica: r.id, path: e.path, content: e.hash, vv: e.vv }] : [],
    ),
  );
}

/**
 * I7 for keep-both: a version may leave the live trees only when some replica's entry at its path
 * had seen it (a newer version or a deletion made after it). A concurrent version is kept live.
 */
function checkNotDropped(
  before: readonly Version[],
  reps: readonly SimReplica[],
  states: readonly ReplicaState[],
): void {
  const live = new Set<string>();
  for (const r of reps) for (const n of r.disk.values()) if (n.kind === 'file') live.add(n.content);
  for (const v of before) {
    if (live.has(v.content)) continue;
    const superseded = states.some((s) => {
      const e = s.entries.get(v.path);
      return e !== undefined && compare(v.vv, e.vv) === 'before';
    });
    if (!superseded) {
      throw new SimViolation(
        `${v.content} (${v.replica}:${v.path} @${vectorKey(v.vv)}) left every live tree though nothing superseded it`,
      );
    }
  }
}

/** A plan with replica indexes replaced by ids, sorted: what must not depend on the replicas' order. */
export function canonicalPlan(plan: Plan, states: readonly ReplicaState[]): string[] {
  const id = (r: number) => states[r]?.id ?? `?${r}`;
  const actions = plan.actions.map((a) => `${id(a.replica)} ${describeAction(a, id)}`);
  const conflicts = plan.conflicts.map(
    (c) => `conflict ${c.path} loser=${c.loserMadeBy} winner=${c.winnerMadeBy} kept=${c.keptAs} ${c.rule}`,
  );
  const resurrected = plan.resurrected.map((p) => `resurrected ${p}`);
  return [...actions, ...conflicts, ...resurrected].sort();
}

/** One line per action, used by the table tests too. */
export function describeAction(a: Action, id: (r: number) => string = String, mtimes = true): string {
  const d = (e: Entry | undefined) => describeEntry(e, mtimes);
  switch (a.type) {
    case 'put':
      return `put ${a.entry.path} ${d(a.entry)} over ${d(a.current)} from ${a.sources.map(id).sort().join(',')}`;
    case 'delete':
      return `delete ${a.entry.path} ${d(a.entry)} over ${d(a.current)}`;
    case 'rename':
      return `rename ${a.path} -> ${a.to} ${d(a.entry)}`;
    case 'record':
      return `record ${a.entry.path} ${d(a.entry)}`;
  }
}

export function describeEntry(e: Entry | undefined, mtimes = true): string {
  if (e === undefined) return 'none';
  const v = `@${vectorKey(e.vv)}`;
  switch (e.kind) {
    case 'file':
      return `file:${e.hash}${e.exec ? ':x' : ''}${v}${mtimes ? ` t=${e.mtime}` : ''}`;
    case 'symlink':
      return `link:${e.target}${v}`;
    case 'dir':
      return `dir${v}`;
    case 'tombstone':
      return `tomb${v}`;
  }
}

/** What a user sees: path -> kind and content, mtimes left out (equal content is in sync). */
export function diskView(rep: SimReplica): string[] {
  return [...rep.disk].map(([p, n]) => (n.kind === 'dir' ? `${p}/` : `${p}=${n.content}`)).sort();
}

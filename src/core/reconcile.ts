import { conflictCopyName } from './conflict-name.ts';
import { type Entry, isLive, type LiveEntry, sameContent } from './entry.ts';
import { ancestors, isWithin } from './path.ts';
import type { Action, Conflict, ConflictRule, Plan, SyncMode } from './plan.ts';
import { compare, emptyVector, merge, type VersionVector } from './vv.ts';
import { byPrecedence, pickWinner } from './winner.ts';

/** One replica's side of a run: its id, its whole index after scanning, and what it could not see. */
export interface ReplicaState {
  readonly id: string;
  /** The version-vector key this replica's changes count under, when it is not `id`. */
  readonly vvKey?: string;
  readonly entries: ReadonlyMap<string, Entry>;
  /** Subtrees the scan could not read; paths in them are frozen this run on every replica (I6). */
  readonly unseen: readonly string[];
}

export interface ReconcileOptions {
  readonly mode: SyncMode;
  readonly conflict: ConflictRule;
  /**
   * When the run started (ms since the epoch): the stamp in the name of a conflict copy whose
   * version has no mtime of its own (a symlink). Default 0.
   */
  readonly now?: number;
}

/** What every replica should hold at a path after the run. */
interface Final {
  readonly entry: Entry;
  /** For conflict copies: the path the losing version sits at now, and who holds it there. */
  readonly moveFrom?: { readonly path: string; readonly holders: readonly number[] };
}

/**
 * From N replica indexes to a plan. Pure: no I/O, no clock; the same inputs give the same plan on
 * every host. Guarantees (tested in test/unit/reconcile*.test.ts):
 * - a version that loses a conflict is renamed (keep-both) or replaced via history, never dropped;
 * - a modification beats a deletion; equal content merges silently whatever the vectors;
 * - every live path's ancestors are directories in the final state;
 * - nothing is planned inside a subtree some replica could not scan.
 */
export function reconcile(replicas: readonly ReplicaState[], opts: ReconcileOptions): Plan {
  const paths = unionPaths(replicas);
  const frozen = (p: string) => replicas.some((r) => r.unseen.some((u) => isWithin(p, u)));
  const taken = new Set(paths);
  const finals = new Map<string, Final>();
  const conflicts: Conflict[] = [];
  const resurrected: string[] = [];
  const ctx: PathContext = { replicas, opts, taken, finals, conflicts, resurrected };

  for (const p of paths) {
    if (frozen(p)) continue;
    resolvePath(p, ctx);
  }
  fixAncestors(ctx);
  return { actions: emitActions(ctx, frozen), conflicts, resurrected };
}

interface PathContext {
  readonly replicas: readonly ReplicaState[];
  readonly opts: ReconcileOptions;
  readonly taken: Set<string>;
  readonly finals: Map<string, Final>;
  readonly conflicts: Conflict[];
  readonly resurrected: string[];
}

function unionPaths(replicas: readonly ReplicaState[]): string[] {
  const all = new Set<string>();
  for (const r of replicas) for (const p of r.entries.keys()) all.add(p);
  return [...all].sort();
}

function entriesAt(p: string, ctx: PathContext): (Entry | undefined)[] {
  return ctx.replicas.map((r) => r.entries.get(p));
}

function mergedVector(ents: readonly (Entry | undefined)[]): VersionVector {
  let v: VersionVector | undefined;
  for (const e of ents) if (e) v = v === undefined ? e.vv : merge(v, e.vv);
  return v ?? emptyVector;
}

/** The entry with this vector: the entry itself when it already has it (entries are shared). */
function withVector<E extends Entry>(e: E, vv: VersionVector): E {
  return e.vv === vv || compare(e.vv, vv) === 'equal' ? e : { ...e, vv };
}

/** Replicas whose entry is not strictly older than another replica's entry. */
function maxima(ents: readonly (Entry | undefined)[]): number[] {
  const known = ents.flatMap((e, i) => (e ? [i] : []));
  return known.filter((i) => {
    const ei = ents[i] as Entry;
    return !known.some((j) => compare(ei.vv, (ents[j] as Entry).vv) === 'before');
  });
}

interface Group {
  entry: Entry;
  readonly holders: number[];
}

/**
 * Versions with equal content form one group. Its representative must not depend on the order
 * replicas were listed in (I7): the newest mtime among the holders, with the holders' vectors merged.
 */
function groupByContent(ents: readonly (Entry | undefined)[], idx: readonly number[]): Group[] {
  const groups: Group[] = [];
  for (const i of idx) {
    const e = ents[i] as Entry;
    const g = groups.find((x) => sameContent(x.entry, e));
    if (!g) {
      groups.push({ entry: e, holders: [i] });
      continue;
    }
    g.holders.push(i);
    const newer = mtimeOf(e) > mtimeOf(g.entry) ? e : g.entry;
    g.entry = withVector(newer, merge(g.entry.vv, e.vv));
  }
  return groups;
}

function mtimeOf(e: Entry): number {
  return e.kind === 'file' ? e.mtime : 0;
}

/** The common case of a no-op run: every replica holds the same version. Nothing to decide. */
function settled(ents: readonly (Entry | undefined)[]): boolean {
  const first = ents[0];
  if (first === undefined) return false;
  for (let i = 1; i < ents.length; i++) {
    const e = ents[i];
    if (e === undefined || !sameContent(first, e) || compare(first.vv, e.vv) !== 'equal') return false;
  }
  return true;
}

function resolvePath(p: string, ctx: PathContext): void {
  const ents = entriesAt(p, ctx);
  if (settled(ents)) return;
  const vv = mergedVector(ents);
  if (ctx.opts.mode === 'mirror') {
    const src = ents[0];
    const entry: Entry = src && isLive(src) ? withVector(src, vv) : { kind: 'tombstone', path: p, vv };
    ctx.finals.set(p, { entry });
    return;
  }
  const groups = groupByContent(ents, maxima(ents));
  const live = groups.filter((g) => isLive(g.entry));
  if (groups.length === 1 || live.length <= 1) {
    const only = live[0] ?? groups[0];
    if (!only) return;
    if (live.length === 1 && groups.length > 1) ctx.resurrected.push(p);
    ctx.finals.set(p, { entry: withVector(only.entry, vv) });
    return;
  }
  resolveConflict(p, live, vv, ctx);
}

function resolveConflict(p: string, live: readonly Group[], vv: VersionVector, ctx: PathContext): void {
  const rule = ctx.opts.conflict;
  const { winner, keepLosers } = pickWinner(live, rule);
  ctx.finals.set(p, { entry: withVector(winner.entry, vv) });
  // Losers in the one total order, not in root order: two copies whose names would clash get
  // their `-2` the same way whatever order the roots were given in (I7).
  const ordered = [...live].sort(byPrecedence);
  const othersThan = (g: Group) => [
    winner.entry.vv,
    ...ordered.filter((o) => o !== g && o !== winner).map((o) => o.entry.vv),
  ];
  for (const loser of ordered) {
    if (loser === winner) continue;
    const loserMadeBy = madeBy(loser.entry.vv, othersThan(loser), ctx.replicas, loser.holders);
    const winnerMadeBy = madeBy(winner.entry.vv, [loser.entry.vv], ctx.replicas, winner.holders);
    let keptAs = 'history';
    if (keepLosers) {
      keptAs = addConflictCopy(p, loser, loserMadeBy, ctx);
    }
    ctx.conflicts.push({
      path: p,
      loserMadeBy,
      winnerMadeBy,
      keptAs,
      rule: keepLosers ? 'keep-both' : rule.kind,
    });
  }
}

function addConflictCopy(p: string, loser: Group, loserMadeBy: string, ctx: PathContext): string {
  const mtime = loser.entry.kind === 'file' ? loser.entry.mtime : (ctx.opts.now ?? 0);
  const copy = conflictCopyName(p, mtime, loserMadeBy, (c) => ctx.taken.has(c));
  ctx.taken.add(copy);
  const entry = { ...(loser.entry as LiveEntry), path: copy };
  ctx.finals.set(copy, { entry, moveFrom: { path: p, holders: loser.holders } });
  return copy;
}

/**
 * Who made version `v`: the replica whose counter puts it ahead of every other version in the
 * conflict (`others`, the first of them being the one it is named against), else ahead of that
 * first one. Several candidates: the smallest key, so every host names it alike.
 */
function madeBy(
  v: VersionVector,
  others: readonly VersionVector[],
  replicas: readonly ReplicaState[],
  holders: readonly number[],
): string {
  const keys = Object.keys(v).sort();
  const aheadOf = (o: VersionVector | undefined) => (k: string) => (v[k] ?? 0) > (o?.[k] ?? 0);
  const key = keys.find((k) => others.every((o) => aheadOf(o)(k))) ?? keys.find(aheadOf(others[0]));
  // A key is a replica id, or the later key of a replica in this run that lost its index.
  if (key !== undefined) return replicas.find((r) => r.vvKey === key)?.id ?? key;
  const ids = holders.map((h) => replicas[h]?.id ?? '').sort();
  return ids[0] ?? 'unknown';
}

/**
 * Every ancestor of a live final path must be a directory. A deleted ancestor is brought back
 * (modification beats deletion); a file or symlink in the way is kept as a conflict copy and the
 * directory takes the name.
 */
function fixAncestors(ctx: PathContext): void {
  const needed = new Set<string>();
  for (const [p, f] of ctx.finals) if (isLive(f.entry)) for (const a of ancestors(p)) needed.add(a);
  for (const a of [...needed].sort()) {
    const f = ctx.finals.get(a);
    if (f === undefined || f.entry.kind === 'dir') continue;
    const ents = entriesAt(a, ctx);
    const vv = mergedVector(ents);
    if (isLive(f.entry)) {
      const holders = ents.flatMap((e, i) => (e && sameContent(e, f.entry) ? [i] : []));
      const others = ents.flatMap((e, i) => (e && !holders.includes(i) ? [i] : []));
      const fileVv = mergedVector(holders.map((i) => ents[i]));
      const dirVv = mergedVector(others.map((i) => ents[i]));
      const clashing: Group = { entry: f.entry, holders };
      const loserMadeBy = madeBy(fileVv, [dirVv], ctx.replicas, holders);
      const winnerMadeBy = madeBy(dirVv, [fileVv], ctx.replicas, others);
      const keptAs = addConflictCopy(a, clashing, loserMadeBy, ctx);
      ctx.conflicts.push({ path: a, loserMadeBy, winnerMadeBy, keptAs, rule: 'keep-both' });
    } else {
      ctx.resurrected.push(a);
    }
    ctx.finals.set(a, { entry: { kind: 'dir', path: a, vv } });
  }
}

function emitActions(ctx: PathContext, frozen: (p: string) => boolean): Action[] {
  const actions: Action[] = [];
  const vacated = new Set<string>(); // `${replica}\0${path}`: moved aside by a conflict rename
  for (const [copy, f] of ctx.finals) {
    if (!f.moveFrom) continue;
    for (const r of f.moveFrom.holders) {
      const current = ctx.replicas[r]?.entries.get(f.moveFrom.path);
      if (!isLive(current)) continue;
      actions.push({
        type: 'rename',
        replica: r,
        path: f.moveFrom.path,
        to: copy,
        entry: f.entry as LiveEntry,
        current,
      });
      vacated.add(`${r}\0${f.moveFrom.path}`);
    }
  }
  for (const [p, f] of ctx.finals) {
    if (frozen(p)) continue;
    const ents = entriesAt(p, ctx);
    const sources = ents.flatMap((e, i) => (e && sameContent(e, f.entry) ? [i] : []));
    const allSources = f.moveFrom ? [...new Set([...sources, ...f.moveFrom.holders])] : sources;
    ents.forEach((cur, r) => {
      if (f.moveFrom?.holders.includes(r)) return; // the rename puts it there
      const here = vacated.has(`${r}\0${p}`) ? undefined : cur;
      const action = actionFor(r, here, f.entry, allSources);
      if (action) actions.push(action);
    });
  }
  return actions;
}

function actionFor(
  r: number,
  cur: Entry | undefined,
  fin: Entry,
  sources: readonly number[],
): Action | undefined {
  if (isLive(fin)) {
    if (cur && sameContent(cur, fin)) {
      return sameVector(cur.vv, fin.vv) ? undefined : { type: 'record', replica: r, entry: fin };
    }
    return { type: 'put', replica: r, entry: fin, current: cur, sources };
  }
  if (fin.kind !== 'tombstone') return undefined;
  if (isLive(cur)) return { type: 'delete', replica: r, entry: fin, current: cur };
  if (cur && !sameVector(cur.vv, fin.vv)) return { type: 'record', replica: r, entry: fin };
  return undefined;
}

function sameVector(a: VersionVector, b: VersionVector): boolean {
  return compare(a, b) === 'equal';
}

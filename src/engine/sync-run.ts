import { FerryError } from '../core/errors.ts';
import type { Action, ConflictRule, Plan, SyncMode } from '../core/plan.ts';
import { type ReplicaState, reconcile } from '../core/reconcile.ts';
import type { StatStamp } from '../ports/index-store.ts';
import type { ReplicaPort, ScanResult } from '../ports/replica.ts';
import { chooseBaseline, entriesByReplica, isRelative, scanOptionsFor, settledCount } from './baseline.ts';
import { ContentIndex } from './content.ts';
import { eachRoot } from './each-root.ts';
import { type EventSink, type RunCounts, type SyncSummary, wireTotals } from './events.ts';
import { type ExecContext, execute, type ReplicaView } from './execute.ts';
import { nextGenerations, rewind } from './generations.ts';
import { checkMassDelete } from './mass-delete.ts';
import { openRoots } from './open-roots.ts';
import { describePlan } from './plan-items.ts';
import { commonSettledToken, newSettledToken, rulesDigest } from './settled.ts';

export interface SyncRunOptions {
  readonly mode: SyncMode;
  readonly conflict: ConflictRule;
  readonly dryRun: boolean;
  readonly force: boolean;
  readonly excludes: readonly string[];
  readonly now: () => number;
  readonly emit: EventSink;
  readonly chunkThreshold?: number;
  /** See OpenOptions.durable; default true. */
  readonly durable?: boolean;
  /** Called once before a plan is applied, with its number of actions (the CLI bounds its heap). */
  readonly beforeApply?: (actions: number) => void;
}

/**
 * One sync run over N replicas: open (I5), scan, reconcile, check the mass-delete limit, apply,
 * record. Every replica is closed (lock released) whatever happens.
 */
export async function runSync(replicas: readonly ReplicaPort[], opts: SyncRunOptions): Promise<SyncSummary> {
  let counts: RunCounts;
  try {
    counts = await run(replicas, opts);
  } finally {
    await Promise.allSettled(eachRoot(replicas, (r) => r.close()));
  }
  // `done` comes after close so that the wire count includes the goodbye of every link.
  const summary: SyncSummary = { ...counts, ...wireTotals(replicas) };
  opts.emit({ type: 'done', summary });
  return summary;
}

async function run(replicas: readonly ReplicaPort[], opts: SyncRunOptions): Promise<RunCounts> {
  const opened = await openRoots(replicas, {
    dryRun: opts.dryRun,
    durable: opts.durable ?? true,
    warm: opts.excludes,
  });
  const { infos, rekeys } = rewind(opened);
  const ids = infos.map((info, i) => info.replicaId || `new${i}`);
  opts.emit({
    type: 'start',
    dryRun: opts.dryRun,
    mode: opts.mode,
    roots: replicas.map((r, i) => ({
      label: r.label,
      replicaId: ids[i] ?? '',
      fresh: infos[i]?.fresh ?? true,
      ...(rekeys[i] === undefined ? {} : { rewound: true }),
    })),
  });

  const ignoreTexts = await Promise.all(eachRoot(replicas, (r) => r.readIgnoreFile()));
  const ignore = [...opts.excludes, ...ignoreTexts.flatMap((t) => (t === undefined ? [] : t.split(/\r?\n/)))];
  const scanOpts = {
    ignore,
    dryRun: opts.dryRun,
    ...(opts.chunkThreshold !== undefined ? { chunkThreshold: opts.chunkThreshold } : {}),
  };
  const digest = rulesDigest(ignore);
  const baseline = chooseBaseline(replicas, infos, digest);
  const perReplica = scanOptionsFor(scanOpts, infos, baseline).map((o, i) => {
    const rekey = rekeys[i];
    return rekey === undefined ? o : { ...o, rekey };
  });
  const scans = await Promise.all(eachRoot(replicas, (r, i) => r.scan(perReplica[i] ?? scanOpts)));
  const settled = commonSettledToken(scans, digest);

  // All replicas still as one converged run left them: nothing to reconcile (engine/settled.ts).
  const states: ReplicaState[] = settled
    ? []
    : entriesByReplica(scans, baseline).map((entries, i) => {
        const vvKey = infos[i]?.vvKey;
        return {
          id: ids[i] ?? '',
          ...(vvKey === undefined ? {} : { vvKey }),
          entries,
          unseen: scans[i]?.unseen ?? [],
        };
      });
  let problems = 0;
  scans.forEach((s, i) => {
    const root = replicas[i]?.label ?? '?';
    const entries = states[i]?.entries.size ?? settledCount(scans, i, baseline);
    opts.emit({ type: 'scanned', root, entries, hashedBytes: s.hashedBytes });
    for (const p of s.problems) opts.emit({ type: 'problem', problem: { ...p, root } });
    problems += s.problems.length;
  });
  const plan = settled
    ? { actions: [], conflicts: [], resurrected: [] }
    : reconcile(states, { mode: opts.mode, conflict: opts.conflict, now: opts.now() });
  checkMassDelete(plan, states, replicas, { force: opts.force });
  for (const c of plan.conflicts) opts.emit({ type: 'conflict', conflict: c });

  const { items, count, bytes } = describePlan(plan, replicas, { list: opts.dryRun });
  opts.emit({ type: 'plan', items: count, bytes, settled: settled !== undefined });
  const tally = {
    copied: 0,
    deleted: 0,
    dirsMade: 0,
    problems,
    bytesTransferred: 0,
    bytesReused: 0,
    doneItems: 0,
    doneBytes: 0,
  };
  // No per-path problem and no conflict: after a real run, every root holds the same tree.
  const clean = () => tally.problems === 0 && plan.conflicts.length === 0;
  if (opts.dryRun) {
    for (const item of items) opts.emit(item);
  } else {
    if (plan.actions.length > 0) {
      const relative = scans.map((s) => isRelative(s, baseline));
      const ctx = execContext(replicas, scans, relative, states, plan, opts.emit, tally, bytes, count);
      opts.beforeApply?.(plan.actions.length);
      await execute(plan.actions, ctx);
    }
    const peers = Object.fromEntries(replicas.map((r, i) => [ids[i] ?? '', r.label]));
    const converged = clean() && scans.every((s) => s.unseen.length === 0);
    const token = settled ?? (converged ? newSettledToken(digest) : undefined);
    const finish = {
      dryRun: false,
      now: opts.now(),
      peers,
      gens: nextGenerations(infos),
      ...(token ? { settled: token } : {}),
    };
    await Promise.all(eachRoot(replicas, (r) => r.finish(finish)));
  }
  const changes = plan.actions.filter((a) => a.type !== 'record').length;
  return {
    roots: replicas.length,
    copied: opts.dryRun
      ? items.filter((i) => i.action === 'copy' || i.action === 'update').length
      : tally.copied,
    deleted: opts.dryRun ? items.filter((i) => i.action === 'delete').length : tally.deleted,
    dirsMade: tally.dirsMade,
    conflicts: plan.conflicts.length,
    problems: tally.problems,
    bytesTransferred: tally.bytesTransferred,
    bytesReused: tally.bytesReused,
    dryRun: opts.dryRun,
    inSync: clean() && (opts.dryRun ? changes === 0 : true),
  };
}

function execContext(
  replicas: readonly ReplicaPort[],
  scans: readonly ScanResult[],
  relative: readonly boolean[],
  states: readonly ReplicaState[],
  plan: Plan,
  emit: EventSink,
  tally: ExecContext['tally'],
  totalBytes: number,
  totalItems: number,
): ExecContext {
  const views = replicas.map((port, i) =>
    lazyView(port, scans[i] as ScanResult, states[i], relative[i] === true),
  );
  // Who else holds a content, for the rare put whose listed sources cannot serve it; built on
  // first use only (on a 100k-file tree it is tens of MB).
  let owners: Map<string, { replica: number; path: string }[]> | undefined;
  const holders = (h: string) => {
    if (!owners) {
      const map = new Map<string, { replica: number; path: string }[]>();
      states.forEach((s, replica) => {
        for (const e of s.entries.values()) {
          if (e.kind !== 'file') continue;
          const list = map.get(e.hash) ?? [];
          if (list.length < 4) list.push({ replica, path: e.path });
          map.set(e.hash, list);
        }
      });
      owners = map;
    }
    return owners.get(h) ?? [];
  };
  if (
    plan.actions.some((a: Action) => a.type === 'put' && a.entry.kind === 'file' && a.sources.length === 0)
  ) {
    throw new FerryError('INTERNAL', 'internal error (a bug in ferry): a file to copy has no source replica');
  }
  return { views, emit, tally, totalItems, totalBytes, holders };
}

/**
 * A replica's stats by path and its content index are built on first use: only replicas that
 * receive operations need them, and on a 100k-file tree each is ~10 MB (an initial copy never
 * builds them for its source).
 */
function lazyView(
  port: ReplicaPort,
  scan: ScanResult,
  state: ReplicaState | undefined,
  relative: boolean,
): ReplicaView {
  let stats: Map<string, StatStamp | null> | undefined;
  let content: ContentIndex | undefined;
  return {
    port,
    relative,
    get stats() {
      if (!stats) {
        const map = new Map<string, StatStamp | null>();
        scan.entries.forEach((e, k) => {
          map.set(e.path, scan.stats[k] ?? null);
        });
        stats = map;
      }
      return stats;
    },
    get content() {
      content ??= new ContentIndex(state?.entries.values() ?? [], scan.partials);
      return content;
    },
  };
}

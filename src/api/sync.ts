import { tightenHeapForLargeApply } from '../adapters/heap-budget.ts';
import { systemClock } from '../adapters/system-clock.ts';
import { FerryError } from '../core/errors.ts';
import type { ConflictRule, SyncMode } from '../core/plan.ts';
import type { EventSink, SyncSummary } from '../engine/events.ts';
import { runSync } from '../engine/sync-run.ts';
import type { Clock } from '../ports/clock.ts';
import { openReplicas, type RemoteOptions } from './roots.ts';

export interface SyncOptions {
  readonly mode?: SyncMode;
  /** 'keep-both' (default), 'newest', or 'prefer=ROOT' with ROOT as given in `roots`. */
  readonly conflict?: string;
  readonly dryRun?: boolean;
  readonly force?: boolean;
  readonly excludes?: readonly string[];
  readonly onEvent?: EventSink;
  readonly clock?: Clock;
  /** false = --no-fsync (see README). */
  readonly durable?: boolean;
  /** How roots on other hosts are reached: ssh command, remote program. */
  readonly remote?: RemoteOptions;
}

/** `ferry sync`: bring every root to the same state, losing nothing (README "Safety"). */
export async function sync(roots: readonly string[], opts: SyncOptions = {}): Promise<SyncSummary> {
  if (roots.length < 2)
    throw new FerryError('USAGE', 'sync needs at least two roots', {
      hint: 'ferry sync ROOT ROOT [ROOT...]',
    });
  const clock = opts.clock ?? systemClock;
  const replicas = openReplicas(roots, clock, opts.remote ?? {});
  return runSync(replicas, {
    mode: opts.mode ?? 'sync',
    conflict: parseConflictRule(opts.conflict ?? 'keep-both', roots),
    dryRun: opts.dryRun ?? false,
    force: opts.force ?? false,
    excludes: opts.excludes ?? [],
    now: () => clock.now(),
    emit: opts.onEvent ?? (() => {}),
    durable: opts.durable ?? true,
    beforeApply: tightenHeapForLargeApply,
  });
}

export function parseConflictRule(text: string, roots: readonly string[]): ConflictRule {
  if (text === 'keep-both') return { kind: 'keep-both' };
  if (text === 'newest') return { kind: 'newest' };
  if (text.startsWith('prefer=')) {
    const want = text.slice('prefer='.length);
    const replica = roots.indexOf(want);
    if (replica < 0) {
      throw new FerryError('USAGE', `--conflict prefer=${want}: that is not one of the roots`, {
        hint: `write the root exactly as given: ${roots.join(', ')}`,
      });
    }
    return { kind: 'prefer', replica };
  }
  throw new FerryError('USAGE', `unknown conflict rule '${text}'`, {
    hint: 'use keep-both, newest, or prefer=ROOT',
  });
}

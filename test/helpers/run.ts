import type { EventSink, SyncSummary } from '../../src/engine/events.ts';
import { runSync } from '../../src/engine/sync-run.ts';
import type { ReplicaPort } from '../../src/ports/replica.ts';

/** One engine run over ready-made ports with the CLI's defaults (keep-both, no dry run). */
export function syncPorts(ports: readonly ReplicaPort[], emit: EventSink = () => {}): Promise<SyncSummary> {
  return runSync(ports, {
    mode: 'sync',
    conflict: { kind: 'keep-both' },
    dryRun: false,
    force: false,
    excludes: [],
    now: Date.now,
    emit,
  });
}

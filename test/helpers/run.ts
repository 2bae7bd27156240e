import { join } from 'node:path';
import { LocalReplica } from '../../src/adapters/local-replica.ts';
import { nodeFileSystem, sha256 } from '../../src/adapters/node-fs.ts';
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

/** A replica of a folder on this host, as the CLI opens one (state in ROOT/.ferry). */
export const localReplica = (root: string): LocalReplica =>
  new LocalReplica(
    root,
    { root, meta: join(root, '.ferry') },
    { fs: nodeFileSystem, newHasher: sha256, now: Date.now },
  );

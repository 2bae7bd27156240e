import { systemClock } from '../adapters/system-clock.ts';
import { FerryError } from '../core/errors.ts';
import { baseName } from '../core/path.ts';
import type { Problem } from '../core/problem.ts';
import { openReplicas, type RemoteOptions } from './roots.ts';

export interface OpenConflict {
  readonly path: string;
  /** Replica id that made the losing version, and how that root was named when last seen. */
  readonly madeBy: string;
  readonly madeByLabel: string | undefined;
}

export interface StatusReport {
  readonly root: string;
  readonly replicaId: string | undefined;
  readonly lastSync: number | undefined;
  readonly peers: readonly { readonly id: string; readonly label: string; readonly lastSync: number }[];
  readonly entries: number;
  readonly conflicts: readonly OpenConflict[];
  readonly problems: readonly Problem[];
}

const CONFLICT = /\.sync-conflict-\d{8}-\d{6}-([a-z0-9]+)(?:-\d+)?(?:\.|$)/;

/** `ferry status ROOT` (local, or host:path reached as `remote` says): what this replica is, whom it syncs with, and what needs attention. Read-only. */
export async function status(root: string, remote: RemoteOptions = {}): Promise<StatusReport> {
  const [replica] = openReplicas([root], systemClock, remote);
  if (!replica) throw new Error('no replica');
  try {
    const info = await replica.open({ create: false, readOnly: true });
    if (!info.exists) {
      throw new FerryError('BAD_ROOT', `${replica.label} does not exist`, {
        hint: 'give the path of a folder or file that ferry syncs',
      });
    }
    const scan = await replica.scan({ ignore: [], dryRun: true });
    const conflicts: OpenConflict[] = [];
    for (const e of scan.entries) {
      if (e.kind === 'tombstone') continue;
      const m = CONFLICT.exec(baseName(e.path));
      if (m?.[1])
        conflicts.push({
          path: e.path,
          madeBy: m[1],
          madeByLabel: info.peers[m[1]]?.label ?? (m[1] === info.replicaId ? replica.label : undefined),
        });
    }
    return {
      root: replica.label,
      replicaId: info.replicaId || undefined,
      lastSync: info.lastSync,
      peers: Object.entries(info.peers).map(([id, p]) => ({ id, label: p.label, lastSync: p.lastSync })),
      entries: scan.entries.filter((e) => e.kind !== 'tombstone').length,
      conflicts,
      problems: scan.problems,
    };
  } finally {
    await replica.close();
  }
}

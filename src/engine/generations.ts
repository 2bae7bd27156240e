import { randomBytes } from 'node:crypto';
import { idFromRandom } from '../core/ids.ts';
import type { OpenInfo } from '../ports/replica.ts';

/**
 * Generations: catching a replica that was put back to an earlier state.
 *
 * A root restored from a backup (its .ferry included), or a copy of a root with its .ferry, holds
 * an index that lags what its peers have already seen of it. Its version counters would then be
 * used a second time: a file it changes after the restore gets a vector its peers already hold
 * for an older version of theirs, looks older than their current one, and is replaced with no
 * conflict (only history would keep it).
 *
 * So each replica counts the runs it finished (its generation), and every replica remembers the
 * highest generation it has seen of each replica it met, itself included (ReplicaMeta.gen,
 * knownGens). When a root of a run has a lower generation than some root of the run has seen for
 * it, it was put back: it goes on under a new version-vector key (ScanOptions.rekey), as after an
 * index loss, so what it changed since meets its peers' versions as a conflict and both are kept.
 * A false alarm (a run that died after some replicas recorded the new generations) costs nothing
 * but a key: a change its peers did not also make still wins as before.
 */

export interface Rewound {
  /** The roots as the run goes on with them: a rewound one without its settled token, under its new key. */
  readonly infos: OpenInfo[];
  /** Per root, the new version-vector key it is to count its changes under (ScanOptions.rekey). */
  readonly rekeys: readonly (string | undefined)[];
}

/** Find the roots put back to an earlier state and give each a new version-vector key. */
export function rewind(opened: readonly OpenInfo[]): Rewound {
  const back = rewoundRoots(opened);
  const rekeys = back.map((b) => (b ? newVectorKey() : undefined));
  const infos = opened.map((info, i) => {
    const vvKey = rekeys[i];
    if (vvKey === undefined) return info;
    const { settled: _unvouched, ...rest } = info;
    return { ...rest, vvKey };
  });
  return { infos, rekeys };
}

/** Per root: some root of this run has seen a later state of its replica. */
export function rewoundRoots(infos: readonly OpenInfo[]): boolean[] {
  const seen = highestSeen(infos);
  return infos.map((info) => info.replicaId !== '' && (info.gen ?? 0) < (seen.get(info.replicaId) ?? 0));
}

/**
 * What every replica records when the run finishes: the highest generation seen of every replica,
 * with each replica of this run one past the highest seen of it.
 */
export function nextGenerations(infos: readonly OpenInfo[]): Record<string, number> {
  const seen = highestSeen(infos);
  for (const info of infos) {
    if (info.replicaId !== '') seen.set(info.replicaId, (seen.get(info.replicaId) ?? 0) + 1);
  }
  return Object.fromEntries(seen);
}

function highestSeen(infos: readonly OpenInfo[]): Map<string, number> {
  const seen = new Map<string, number>();
  const note = (id: string, gen: number) => seen.set(id, Math.max(seen.get(id) ?? 0, gen));
  for (const info of infos) {
    for (const [id, gen] of Object.entries(info.knownGens ?? {})) note(id, gen);
    if (info.replicaId !== '') note(info.replicaId, info.gen ?? 0);
  }
  return seen;
}

/** A fresh version-vector key for a rewound replica, shaped like a replica id. */
function newVectorKey(): string {
  return idFromRandom(randomBytes(8));
}

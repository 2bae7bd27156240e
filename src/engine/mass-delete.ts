import { FerryError } from '../core/errors.ts';
import type { Plan } from '../core/plan.ts';
import type { ReplicaState } from '../core/reconcile.ts';
import type { ReplicaPort } from '../ports/replica.ts';

export const MASS_DELETE_SHARE = 0.5;
export const MASS_DELETE_MIN = 10;

/**
 * I5: a run that would delete more than half of a replica's files (and at least 10) stops before
 * touching anything unless --force. A wiped or half-mounted root otherwise looks like a mass delete.
 */
export function checkMassDelete(
  plan: Plan,
  states: readonly ReplicaState[],
  replicas: readonly ReplicaPort[],
  opts: { readonly force: boolean },
): void {
  if (opts.force) return;
  states.forEach((s, r) => {
    let files = 0;
    for (const e of s.entries.values()) if (e.kind === 'file' || e.kind === 'symlink') files++;
    const lost = plan.actions.filter(
      (a) => a.replica === r && a.type === 'delete' && a.current.kind !== 'dir',
    ).length;
    if (lost >= MASS_DELETE_MIN && lost > files * MASS_DELETE_SHARE) {
      const replaced = plan.actions.filter(
        (a) =>
          a.replica === r && a.type === 'put' && a.current !== undefined && a.current.kind !== 'tombstone',
      ).length;
      const label = replicas[r]?.label ?? '?';
      throw new FerryError(
        'MASS_DELETE',
        `this run would delete ${lost} of ${files} files in ${label} (${replaced} more would be replaced); refusing`,
        {
          hint: 'if another root was emptied or unmounted by mistake, fix that first; if the deletions are intended, run again with --force (deleted files are kept in .ferry/history)',
        },
      );
    }
  });
}

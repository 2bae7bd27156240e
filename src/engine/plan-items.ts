import type { Plan } from '../core/plan.ts';
import type { ReplicaPort } from '../ports/replica.ts';
import type { ItemAction, SyncEvent } from './events.ts';

type Item = Extract<SyncEvent, { type: 'item' }>;

/**
 * How many changes and bytes the plan holds, and (with `list`, for a dry run) the itemized list
 * itself; a real run does not build 100k item objects it will not print.
 */
export function describePlan(
  plan: Plan,
  replicas: readonly ReplicaPort[],
  opts: { readonly list: boolean },
): { items: Item[]; count: number; bytes: number } {
  const items: Item[] = [];
  let bytes = 0;
  let count = 0;
  for (const a of plan.actions) {
    if (a.type === 'record') continue;
    count++;
    if (!opts.list) {
      if (a.type === 'put' && a.entry.kind === 'file') bytes += a.entry.size;
      continue;
    }
    const root = replicas[a.replica]?.label ?? '?';
    if (a.type === 'rename') {
      items.push({ type: 'item', root, action: 'conflict-rename', path: a.path, to: a.to });
      continue;
    }
    if (a.type === 'delete') {
      items.push({ type: 'item', root, action: 'delete', path: a.current.path });
      continue;
    }
    const e = a.entry;
    const live = a.current !== undefined && a.current.kind !== 'tombstone';
    const action: ItemAction =
      e.kind === 'dir' ? 'mkdir' : e.kind === 'symlink' ? 'symlink' : live ? 'update' : 'copy';
    if (e.kind === 'file') {
      bytes += e.size;
      items.push({ type: 'item', root, action, path: e.path, bytes: e.size });
    } else items.push({ type: 'item', root, action, path: e.path });
  }
  return { items, count, bytes };
}

import type { Entry } from '../core/entry.ts';
import type { StatStamp } from '../ports/index-store.ts';
import type { ApplyOp, ApplyReply, Expect, ReplicaPort } from '../ports/replica.ts';
import type { ContentIndex } from './content.ts';
import type { EventSink, ItemAction } from './events.ts';

/** What the engine knows about one replica after its scan. */
export interface ReplicaView {
  readonly port: ReplicaPort;
  readonly stats: ReadonlyMap<string, StatStamp | null>;
  /** Its scan was relative (engine/baseline.ts): paths without a stat here are checked by its index. */
  readonly relative: boolean;
  readonly content: ContentIndex;
}

export interface Tally {
  copied: number;
  deleted: number;
  dirsMade: number;
  problems: number;
  bytesTransferred: number;
  bytesReused: number;
  doneItems: number;
  doneBytes: number;
}

export interface ExecContext {
  readonly views: readonly ReplicaView[];
  readonly emit: EventSink;
  readonly tally: Tally;
  readonly totalItems: number;
  readonly totalBytes: number;
  /** Every replica that holds a file with this hash, for content not found among an action's sources. */
  readonly holders: (hash: string) => readonly { readonly replica: number; readonly path: string }[];
}

export function expectFor(ctx: ExecContext, r: number, current: Entry | undefined): Expect {
  if (current === undefined || current.kind === 'tombstone') return { kind: 'absent' };
  const view = ctx.views[r];
  const stat = view?.stats.get(current.path);
  if (stat === undefined && view?.relative) return { kind: 'indexed', entry: current };
  return { kind: 'entry', entry: current, stat: stat ?? null };
}

export function report(ctx: ExecContext, r: number, op: ApplyOp, reply: ApplyReply, quiet = false): void {
  const root = ctx.views[r]?.port.label ?? '?';
  if (!reply.ok) {
    ctx.tally.problems++;
    ctx.emit({ type: 'problem', problem: { ...reply.problem, root } });
    return;
  }
  const t = ctx.tally;
  const action = itemAction(op);
  if (action === 'copy' || action === 'update' || action === 'symlink') t.copied++;
  if (action === 'delete') t.deleted++;
  if (action === 'mkdir') t.dirsMade++;
  t.doneItems++;
  if (op.op === 'write') t.doneBytes += op.entry.size;
  if (quiet) return;
  ctx.emit({
    type: 'item',
    root,
    action,
    path: op.path,
    ...(op.op === 'rename' ? { to: op.to } : {}),
    ...(op.op === 'write' ? { bytes: op.entry.size } : {}),
  });
  ctx.emit({
    type: 'progress',
    doneItems: t.doneItems,
    totalItems: ctx.totalItems,
    doneBytes: t.doneBytes,
    totalBytes: ctx.totalBytes,
  });
}

function itemAction(op: ApplyOp): ItemAction {
  switch (op.op) {
    case 'write':
      return op.expect.kind === 'absent' ? 'copy' : 'update';
    case 'rename':
      return 'conflict-rename';
    default:
      return op.op;
  }
}

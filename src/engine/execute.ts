import type { FileEntry, LiveEntry } from '../core/entry.ts';
import { depth } from '../core/path.ts';
import type { Action } from '../core/plan.ts';
import type { ApplyOp, ApplyReply } from '../ports/replica.ts';
import { type ExecContext, expectFor, report } from './exec-context.ts';
import { writeFiles } from './write-files.ts';

export type { ExecContext, ReplicaView, Tally } from './exec-context.ts';

type Put = Extract<Action, { type: 'put' }>;

const BATCH_OPS = 1000;

/**
 * Runs a plan in phases, each phase on every replica at once: conflict renames; directories
 * (parents first); files and symlinks; deletions (files, then directories deepest first); puts
 * that replace a directory (its children are gone by then); index-only records. Files are
 * written before anything is deleted so a moved file is copied from its old place, not sent.
 *
 * A conflict whose losing version could not be moved aside (the rename was refused: I4, or a
 * permission) is left as it is this run, on every replica: nothing else is done at its path or
 * its copy's path. Otherwise the winner's holders would record the merged vector, and the next
 * run would see the loser, still in place, as simply older and replace it with no conflict.
 */
export async function execute(actions: readonly Action[], ctx: ExecContext): Promise<void> {
  const planned = ctx.views.map((_, r) => actions.filter((a) => a.replica === r));
  const unresolved = new Set<string>();
  await everywhere(planned, async (r, acts) => {
    const renames = acts.filter((a): a is Extract<Action, { type: 'rename' }> => a.type === 'rename');
    const replies = await applyOps(
      ctx,
      r,
      renames.map((a) => ({
        op: 'rename',
        path: a.path,
        to: a.to,
        entry: a.entry,
        expect: expectFor(ctx, r, a.current),
      })),
    );
    renames.forEach((a, k) => {
      if (replies[k]?.ok === true) ctx.views[r]?.content.moved(a.path, a.to, a.entry);
      else {
        unresolved.add(a.path);
        unresolved.add(a.to);
      }
    });
  });
  const per =
    unresolved.size === 0
      ? planned
      : planned.map((acts) => acts.filter((a) => a.type === 'rename' || !unresolved.has(pathOf(a))));
  const puts = per.map((acts) => acts.filter((a): a is Put => a.type === 'put'));
  await everywhere(puts, async (r, ps) => {
    const dirs = ps
      .filter((p) => p.entry.kind === 'dir')
      .sort((a, b) => depth(a.entry.path) - depth(b.entry.path));
    await applyOps(
      ctx,
      r,
      dirs.map((p) => ({
        op: 'mkdir',
        path: p.entry.path,
        entry: p.entry as LiveEntry & { kind: 'dir' },
        expect: expectFor(ctx, r, p.current),
      })),
    );
  });
  const replacesDir = (p: Put) => p.current?.kind === 'dir';
  await everywhere(puts, (r, ps) =>
    putContent(
      ctx,
      r,
      ps.filter((p) => p.entry.kind !== 'dir' && !replacesDir(p)),
    ),
  );
  await everywhere(per, async (r, acts) => {
    const dels = acts.filter((a): a is Extract<Action, { type: 'delete' }> => a.type === 'delete');
    const order = (a: (typeof dels)[number]) =>
      a.current.kind === 'dir' ? 1_000_000 - depth(a.current.path) : -1;
    dels.sort((a, b) => order(a) - order(b));
    await applyOps(
      ctx,
      r,
      dels.map((a) => ({
        op: 'delete',
        path: a.current.path,
        entry: a.entry,
        expect: expectFor(ctx, r, a.current),
      })),
    );
  });
  await everywhere(puts, (r, ps) =>
    putContent(
      ctx,
      r,
      ps.filter((p) => p.entry.kind !== 'dir' && replacesDir(p)),
    ),
  );
  await everywhere(per, async (r, acts) => {
    const recs = acts.filter((a): a is Extract<Action, { type: 'record' }> => a.type === 'record');
    await applyOps(
      ctx,
      r,
      recs.map((a) => ({ op: 'record', path: a.entry.path, entry: a.entry })),
      true,
    );
  });
}

function pathOf(a: Action): string {
  switch (a.type) {
    case 'put':
    case 'record':
      return a.entry.path;
    case 'delete':
      return a.current.path;
    case 'rename':
      return a.path;
  }
}

async function everywhere<T>(per: readonly T[], f: (r: number, items: T) => Promise<void>): Promise<void> {
  await Promise.all(per.map((items, r) => f(r, items)));
}

async function putContent(ctx: ExecContext, r: number, puts: readonly Put[]): Promise<void> {
  const links = puts.filter((p) => p.entry.kind === 'symlink');
  await applyOps(
    ctx,
    r,
    links.map((p) => ({
      op: 'symlink',
      path: p.entry.path,
      entry: p.entry as LiveEntry & { kind: 'symlink' },
      expect: expectFor(ctx, r, p.current),
    })),
  );
  const files = puts.filter((p): p is Put & { entry: FileEntry } => p.entry.kind === 'file');
  await writeFiles(ctx, r, files);
}

/** Sends ops in batches and reports each reply as an item or a problem; returns the replies. */
export async function applyOps(
  ctx: ExecContext,
  r: number,
  ops: readonly ApplyOp[],
  quiet = false,
): Promise<ApplyReply[]> {
  const view = ctx.views[r];
  const all: ApplyReply[] = [];
  if (!view || ops.length === 0) return all;
  for (let i = 0; i < ops.length; i += BATCH_OPS) {
    const batch = ops.slice(i, i + BATCH_OPS);
    const replies = await view.port.apply(batch);
    replies.forEach((reply, j) => {
      report(ctx, r, batch[j] as ApplyOp, reply, quiet);
    });
    all.push(...replies);
  }
  return all;
}

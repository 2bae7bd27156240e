import type { Chunk, Entry, FileEntry } from '../core/entry.ts';
import {
  CHUNK_LIST_MAX_FILE,
  type ChunkListReply,
  type ChunkListRequest,
  FINE_KEY_HEX,
} from '../ports/replica.ts';
import type { PiecePlan } from './content.ts';
import { isRemote } from './each-root.ts';
import type { ExecContext } from './exec-context.ts';

/**
 * Block-level delta for small files (below the chunking threshold, so without chunk lists): when a
 * replica holds an older version of a file and a link is involved, the target and the source each
 * cut their version into fine chunks on demand (ReplicaPort.chunkLists), and only the chunks the
 * target cannot find in its old version travel; the rest is copied from that old version on the
 * target. Matches are by hash prefix and size, so a match is a candidate: the target verifies the
 * assembled file against its SHA-256, and write-files.ts sends a refused file once more whole.
 */

/**
 * Files below this size travel whole. Measured on files of 0.5-64 KiB with 32 bytes overwritten
 * and 64 appended: from 1 KiB up the list and the request (~100 bytes) cost less than the bytes
 * saved (about half of a 1-2 KiB file, 90% of a 16 KiB one); below it, most of the file changes.
 */
export const FINE_MIN_BYTES = 1024;

/** What the decision needs of a planned put (write-files.ts `Planned` has this shape). */
export interface FineCandidate {
  readonly put: { readonly entry: FileEntry; readonly current: Entry | undefined };
  readonly source: { readonly replica: number; readonly path: string } | undefined;
  /** Bytes the plan reads from the source: all of them when the target has nothing to reuse. */
  readonly remoteBytes: number;
}

/**
 * Worth asking for fine lists: the target holds another version of this small file, nothing of the
 * new one was found on it, and a link is involved (`linked`). Between two roots on this host the
 * lists cost more than they save: reading a local file is cheaper than cutting and hashing two.
 */
export function wantsFineDelta(c: FineCandidate, linked: boolean): boolean {
  const { entry, current } = c.put;
  return (
    linked &&
    c.source !== undefined &&
    entry.chunks === undefined &&
    c.remoteBytes === entry.size &&
    current?.kind === 'file' &&
    current.hash !== entry.hash &&
    fits(entry.size) &&
    fits(current.size)
  );
}

const fits = (size: number): boolean => size >= FINE_MIN_BYTES && size <= CHUNK_LIST_MAX_FILE;

const key = (c: Chunk): string => `${c.size}:${c.hash.slice(0, FINE_KEY_HEX)}`;

/**
 * Pieces of the new version (`next`, its fine chunks) given the target's old version at `path`
 * (`old`): chunks found there become local pieces (adjacent ones merged into one), the rest
 * remote ranges (adjacent ones merged too, so a changed stretch is one read).
 */
export function planFine(old: readonly Chunk[], next: readonly Chunk[], path: string): PiecePlan[] {
  const at = new Map<string, number>();
  let off = 0;
  for (const c of old) {
    const k = key(c);
    if (!at.has(k)) at.set(k, off);
    off += c.size;
  }
  const out: PiecePlan[] = [];
  let pos = 0;
  for (const c of next) {
    const from = at.get(key(c));
    const prev = out[out.length - 1];
    if (from !== undefined) {
      if (prev?.kind === 'local' && prev.offset + prev.length === from)
        out[out.length - 1] = { ...prev, length: prev.length + c.size };
      else out.push({ kind: 'local', path, offset: from, length: c.size, byChunks: true });
    } else if (prev?.kind === 'remote') {
      out[out.length - 1] = { ...prev, length: prev.length + c.size };
    } else {
      out.push({ kind: 'remote', offset: pos, length: c.size });
    }
    pos += c.size;
  }
  return out;
}

/**
 * For each candidate, a fine plan, or undefined to keep its whole-file plan (not worth it, a list
 * missing or not matching the expected size, or nothing of the old version reusable). One
 * chunkLists call to the target and one per source replica, all at once, for the whole batch.
 */
export async function finePlans(
  ctx: ExecContext,
  r: number,
  items: readonly FineCandidate[],
): Promise<(PiecePlan[] | undefined)[]> {
  const out: (PiecePlan[] | undefined)[] = items.map(() => undefined);
  const target = ctx.views[r]?.port;
  const picked: { c: FineCandidate; i: number; src: number; old: FileEntry }[] = [];
  items.forEach((c, i) => {
    const src = c.source?.replica;
    const old = c.put.current;
    if (target && src !== undefined && old?.kind === 'file' && wantsFineDelta(c, linked(ctx, r, src)))
      picked.push({ c, i, src, old });
  });
  if (!target || picked.length === 0) return out;
  const sources = [...new Set(picked.map((p) => p.src))];
  const ask = (s: number): Promise<ChunkListReply[]> => {
    const reqs: ChunkListRequest[] = picked
      .filter((p) => p.src === s)
      .map((p) => ({ path: p.c.source?.path ?? p.c.put.entry.path, hash: p.c.put.entry.hash }));
    return ctx.views[s]?.port.chunkLists(reqs) ?? Promise.resolve([]);
  };
  const [theirs, ...ours] = await Promise.all([
    target.chunkLists(picked.map((p) => ({ path: p.c.put.entry.path, hash: p.old.hash }))),
    ...sources.map(ask),
  ]);
  const next = new Map<number, number>(sources.map((s) => [s, 0]));
  picked.forEach((p, k) => {
    const n = next.get(p.src) ?? 0;
    next.set(p.src, n + 1);
    const old = listOf(theirs?.[k], p.old.size);
    const mine = listOf(ours[sources.indexOf(p.src)]?.[n], p.c.put.entry.size);
    if (!old || !mine) return;
    const pieces = planFine(old, mine, p.c.put.entry.path);
    if (pieces.some((x) => x.kind === 'local')) out[p.i] = pieces;
  });
  return out;
}

function linked(ctx: ExecContext, r: number, src: number): boolean {
  return isRemote(ctx.views[r]?.port) || isRemote(ctx.views[src]?.port);
}

/** A list is used only when it describes exactly `size` bytes (a peer's list is not trusted). */
function listOf(reply: ChunkListReply | undefined, size: number): readonly Chunk[] | undefined {
  if (!reply?.ok) return undefined;
  let sum = 0;
  for (const c of reply.chunks) sum += c.size;
  return sum === size ? reply.chunks : undefined;
}

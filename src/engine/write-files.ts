import type { FileEntry } from '../core/entry.ts';
import type { Action } from '../core/plan.ts';
import type { Problem } from '../core/problem.ts';
import type { ApplyReply, Piece, ReadRequest, ReplicaPort, WriteOp } from '../ports/replica.ts';
import { type PiecePlan, planPieces, transferAll, usesChunkMatches } from './content.ts';
import { isRemote } from './each-root.ts';
import { type ExecContext, expectFor, report } from './exec-context.ts';
import { finePlans } from './fine-delta.ts';

type FilePut = Extract<Action, { type: 'put' }> & { entry: FileEntry };

/**
 * Up to this many bytes and files per batch of small files, and batches in flight. A run with a
 * root behind a link uses small batches: the far side starts on a batch (a read reply, or an
 * apply) only once all of it has arrived, so 16 MiB messages left each side idle while the other
 * worked (ssh-t10k initial: -13% time, -90 MB peak with 2 MiB). Local runs keep big batches: each
 * batch costs two filesystem syncs.
 */
const LOCAL_BATCH = { bytes: 16 << 20, files: 2000, depth: 2 };
const LINKED_BATCH = { bytes: 2 << 20, files: 2000, depth: 3 };

interface Planned {
  readonly put: FilePut;
  readonly pieces: PiecePlan[];
  readonly source: { readonly replica: number; readonly path: string } | undefined;
  readonly remoteBytes: number;
}

interface BuiltOp {
  readonly op: WriteOp;
  readonly planned: Planned;
  readonly sent: number;
  readonly reused: number;
}

/**
 * Writes files to replica r. Small files go many per request (one read per source, one apply
 * per batch), with the next batch read while the previous one is applied. Files with chunk lists
 * are streamed chunk by chunk, taking every chunk the target already has from the target itself.
 * Small files the target holds an older version of are sent as fine deltas when a link is
 * involved (fine-delta.ts). Chunks are matched by hash prefix (content.ts, fine-delta.ts); a file
 * assembled from such matches that fails the target's whole-file check is sent again, every byte
 * from the source.
 */
export async function writeFiles(ctx: ExecContext, r: number, puts: readonly FilePut[]): Promise<void> {
  const view = ctx.views[r];
  if (!view || puts.length === 0) return;
  // The next batch is read and sent while the target applies this one: behind a link the far side
  // runs requests in order; a replica in this process writes the next batch's temp files while
  // this one waits for its filesystem sync (batches never share a path).
  const limits = ctx.views.some((v) => isRemote(v.port)) ? LINKED_BATCH : LOCAL_BATCH;
  const large: Planned[] = [];
  const retry: Planned[] = [];
  const inFlight: Promise<void>[] = [];
  let batch: Planned[] = [];
  let bytes = 0;
  const flush = async () => {
    const { ops, recycle } = await buildOps(ctx, r, await refine(ctx, r, batch));
    batch = [];
    bytes = 0;
    while (inFlight.length >= limits.depth) await inFlight.shift();
    const applied = view.port.apply(ops.map((o) => o.op)).then((replies) => {
      replies.forEach((reply, i) => {
        const o = ops[i];
        if (!o) return;
        if (fallsBack(o.planned, reply)) {
          ctx.tally.bytesTransferred += o.sent;
          retry.push(o.planned);
        } else done(ctx, r, o.op, reply, o);
      });
      recycle();
    });
    // Awaited in order below; this only keeps a failure from counting as unhandled meanwhile.
    applied.catch(() => undefined);
    inFlight.push(applied);
  };
  // Planned one at a time: on a 100k-file tree, planning every file first kept ~25 MB of plans alive.
  for (const put of puts) {
    const p = plan(ctx, r, put);
    if (p.put.entry.chunks !== undefined && p.remoteBytes > 0) {
      large.push(p);
      continue;
    }
    if (p.remoteBytes > 0 && !p.source) {
      missingSource(ctx, r, p.put.entry.path);
      continue;
    }
    batch.push(p);
    bytes += p.remoteBytes;
    if (bytes >= limits.bytes || batch.length >= limits.files) await flush();
  }
  if (batch.length > 0) await flush();
  for (const applied of inFlight.splice(0)) await applied;
  for (const p of large) await writeLarge(ctx, r, p);
  for (const p of retry) await writeLarge(ctx, r, wholeTransfer(p));
}

function plan(ctx: ExecContext, r: number, put: FilePut): Planned {
  const view = ctx.views[r];
  const pieces = view ? planPieces(put.entry, view.content) : [];
  const src = put.sources.find((s) => s !== r);
  const source =
    src !== undefined
      ? { replica: src, path: put.entry.path }
      : ctx.holders(put.entry.hash).find((h) => h.replica !== r);
  return { put, pieces, source, remoteBytes: remoteBytes(pieces) };
}

const remoteBytes = (pieces: readonly PiecePlan[]): number =>
  pieces.reduce((n, p) => n + (p.kind === 'remote' ? p.length : 0), 0);

/** Small files the target has an older version of: only the fine chunks it lacks (fine-delta.ts). */
async function refine(ctx: ExecContext, r: number, batch: readonly Planned[]): Promise<Planned[]> {
  const plans = await finePlans(ctx, r, batch);
  return batch.map((p, i) => {
    const pieces = plans[i];
    return pieces ? { ...p, pieces, remoteBytes: remoteBytes(pieces) } : p;
  });
}

function wholeTransfer(p: Planned): Planned {
  const pieces = transferAll(p.put.entry);
  return { ...p, pieces, remoteBytes: remoteBytes(pieces) };
}

/** A failed write is retried whole only when chunk matches may be what failed its verification. */
function fallsBack(p: Planned, reply: ApplyReply): boolean {
  return !reply.ok && reply.problem.code === 'changed-during-sync' && usesChunkMatches(p.pieces);
}

/** Tallies and reports a write; bytes found on the target count as reused only if it landed. */
function done(
  ctx: ExecContext,
  r: number,
  op: WriteOp,
  reply: ApplyReply,
  n: { sent: number; reused: number },
) {
  ctx.tally.bytesTransferred += n.sent;
  if (reply.ok) ctx.tally.bytesReused += n.reused;
  report(ctx, r, op, reply);
}

/**
 * Reads every remote piece of the batch (one read per source replica) and builds the writes;
 * `recycle` hands the bytes back to their sources once the target has applied the batch.
 */
async function buildOps(
  ctx: ExecContext,
  r: number,
  batch: readonly Planned[],
): Promise<{ ops: BuiltOp[]; recycle: () => void }> {
  const bySource = new Map<number, { idx: number; req: ReadRequest }[]>();
  batch.forEach((p, idx) => {
    if (p.remoteBytes === 0 || !p.source) return;
    const list = bySource.get(p.source.replica) ?? [];
    for (const w of p.pieces) {
      if (w.kind === 'remote')
        list.push({ idx, req: { path: p.source.path, offset: w.offset, length: w.length } });
    }
    bySource.set(p.source.replica, list);
  });
  const data = new Map<number, Uint8Array[] | Problem>();
  const lent: { port: ReplicaPort; data: Uint8Array[] }[] = [];
  await Promise.all(
    [...bySource].map(async ([s, items]) => {
      const port = ctx.views[s]?.port;
      const replies = await (port?.read(items.map((i) => i.req)) ?? Promise.resolve([]));
      if (port) lent.push({ port, data: replies.flatMap((reply) => (reply.ok ? [reply.data] : [])) });
      items.forEach((it, k) => {
        const reply = replies[k];
        const got = data.get(it.idx) ?? [];
        if (!Array.isArray(got)) return;
        if (reply?.ok) got.push(reply.data);
        data.set(
          it.idx,
          reply?.ok
            ? got
            : (reply?.problem ?? { path: it.req.path, code: 'unreadable', message: 'no reply from source' }),
        );
      });
    }),
  );
  const ops: BuiltOp[] = [];
  batch.forEach((p, idx) => {
    const got = data.get(idx) ?? [];
    if (!Array.isArray(got)) {
      sourceProblem(ctx, got, ctx.views[p.source?.replica ?? r]?.port.label);
      return;
    }
    let k = 0;
    const pieces: Piece[] = p.pieces.map((w) =>
      w.kind === 'local' ? localPiece(w) : { kind: 'data', data: got[k++] ?? new Uint8Array(0) },
    );
    const op = writeOp(ctx, r, p, pieces);
    const sent = got.reduce((n, d) => n + d.length, 0);
    ops.push({ op, planned: p, sent, reused: p.put.entry.size - p.remoteBytes });
  });
  return {
    ops,
    recycle: () => {
      for (const l of lent) l.port.recycle?.(l.data);
    },
  };
}

function writeOp(ctx: ExecContext, r: number, p: Planned, pieces: Piece[]): WriteOp {
  const expect = expectFor(ctx, r, p.put.current);
  return { op: 'write', path: p.put.entry.path, entry: p.put.entry, expect, pieces };
}

/**
 * A large file travels in windows of up to WINDOW_BYTES read from the source. Up to
 * READS_AHEAD windows are being read (a source behind a link answers them one after the other,
 * never idle between two) and up to APPENDS_IN_FLIGHT appends are sent and not yet answered, so
 * a target behind a link always has the next windows queued. Small windows keep every stage
 * busy: a 16 MiB message was received whole before the agent began writing it, during which it
 * read nothing more (measured over the test sshd: ~20% of both cores idle during the transfer),
 * and its copies touched fresh memory each time. At most (READS_AHEAD + APPENDS_IN_FLIGHT)
 * windows are held. Replicas apply appends of one path in call order (the RPC server runs
 * requests in order, LocalReplica chains them).
 */
const WINDOW_BYTES = 2 << 20;
const READS_AHEAD = 4;
const APPENDS_IN_FLIGHT = 8;

/** Streams a large file to replica r; on a failed chunk-matched assembly, once more whole. */
async function writeLarge(ctx: ExecContext, r: number, p: Planned): Promise<void> {
  const target = ctx.views[r]?.port;
  const source = p.source ? ctx.views[p.source.replica]?.port : undefined;
  if (!target || !source || !p.source) return missingSource(ctx, r, p.put.entry.path);
  const from = p.source.path;
  // Mostly sent anyway: the list lets a target behind a link skip cutting the file itself.
  const op = {
    ...writeOp(ctx, r, p, []),
    ...(p.remoteBytes * 2 >= p.put.entry.size ? { withChunks: true } : {}),
  };
  const n = { sent: 0, reused: 0 };
  await target.beginWrite(op);
  const reads: { window: PiecePlan[]; pieces: Promise<Piece[] | Problem> }[] = [];
  const appends: Promise<void>[] = [];
  let failed: Problem | undefined;
  // Sends the oldest window read; false once the source failed.
  const sendNext = async (): Promise<boolean> => {
    const next = reads.shift();
    if (!next) return true;
    const pieces = await next.pieces;
    if (!Array.isArray(pieces)) {
      failed = pieces;
      return false;
    }
    for (const w of next.window) {
      if (w.kind === 'remote') n.sent += w.length;
      else n.reused += w.length;
    }
    const appended = target.appendWrite(op.path, pieces).then(() => recycle(source, pieces));
    // Awaited below, in order; the handler only keeps a failure from counting as unhandled.
    appended.catch(() => undefined);
    appends.push(appended);
    if (appends.length >= APPENDS_IN_FLIGHT) await appends.shift();
    return true;
  };
  try {
    let ok = true;
    for (const window of windows(p.pieces)) {
      const pieces = readWindow(source, from, window);
      // Awaited in sendNext, in order (or dropped after a failure: the handler keeps it quiet).
      pieces.catch(() => undefined);
      reads.push({ window, pieces });
      if (reads.length < READS_AHEAD) continue;
      ok = await sendNext();
      if (!ok) break;
    }
    while (ok && reads.length > 0) ok = await sendNext();
  } finally {
    reads.length = 0;
    for (const a of appends.splice(0)) await a;
  }
  if (failed) {
    await target.finishWrite(op.path).catch(() => undefined);
    ctx.tally.bytesTransferred += n.sent;
    return sourceProblem(ctx, failed, source.label);
  }
  const reply = await target.finishWrite(op.path);
  if (fallsBack(p, reply)) {
    ctx.tally.bytesTransferred += n.sent;
    return writeLarge(ctx, r, wholeTransfer(p));
  }
  done(ctx, r, op, reply, n);
}

/**
 * Consecutive pieces with at most WINDOW_BYTES to read from the source (one piece at least, so a
 * chunk larger than that is one window), so a window's remote bytes fit in one data piece of a
 * message.
 */
function* windows(pieces: readonly PiecePlan[]): Generator<PiecePlan[]> {
  let window: PiecePlan[] = [];
  let bytes = 0;
  for (const piece of pieces) {
    const more = piece.kind === 'remote' ? piece.length : 0;
    if (window.length > 0 && bytes + more > WINDOW_BYTES) {
      yield window;
      window = [];
      bytes = 0;
    }
    window.push(piece);
    bytes += more;
  }
  if (window.length > 0) yield window;
}

/** A window's pieces with the remote ones read from the source, or the source's problem. */
async function readWindow(
  source: ReplicaPort,
  path: string,
  window: readonly PiecePlan[],
): Promise<Piece[] | Problem> {
  const remote = window.filter((w) => w.kind === 'remote');
  const replies = await source.read(remote.map((w) => ({ path, offset: w.offset, length: w.length })));
  const data: Uint8Array[] = [];
  for (const reply of replies) {
    if (!reply.ok) return reply.problem;
    data.push(reply.data);
  }
  if (data.length !== remote.length) return { path, code: 'unreadable', message: 'no reply from source' };
  let k = 0;
  return window.map((w) =>
    w.kind === 'local' ? localPiece(w) : { kind: 'data', data: data[k++] as Uint8Array },
  );
}

/** Hands a window's bytes back to the source that read them (once the target holds them). */
function recycle(source: ReplicaPort, pieces: readonly Piece[]): void {
  source.recycle?.(pieces.flatMap((p) => (p.kind === 'data' ? [p.data] : [])));
}

function localPiece(p: PiecePlan): Piece {
  if (p.kind !== 'local') throw new Error('remote piece without data');
  const base = { kind: 'local' as const, path: p.path, offset: p.offset, length: p.length };
  return p.hash === undefined ? base : { ...base, hash: p.hash };
}

function sourceProblem(ctx: ExecContext, problem: Problem, root: string | undefined): void {
  ctx.tally.problems++;
  ctx.emit({ type: 'problem', problem: { ...problem, root: root ?? '?' } });
}

function missingSource(ctx: ExecContext, r: number, path: string): void {
  ctx.tally.problems++;
  ctx.emit({
    type: 'problem',
    problem: {
      path,
      code: 'unreadable',
      message: 'no replica could provide this content',
      root: ctx.views[r]?.port.label ?? '?',
    },
  });
}

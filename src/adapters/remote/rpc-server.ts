import type { Buffer } from 'node:buffer';
import { FerryError } from '../../core/errors.ts';
import type { ReadReply, ReplicaPort } from '../../ports/replica.ts';
import { checkHello, makeHello } from '../../protocol/handshake.ts';
import type {
  ClientMessage,
  Method,
  PartMethod,
  Request,
  Response,
  WireError,
} from '../../protocol/messages.ts';
import { PROTOCOL_VERSION } from '../../protocol/messages.ts';
import { clientMessage } from '../../protocol/validate.ts';
import { serverToWire, type WireScanItem, type WireScanResult } from '../../protocol/wire.ts';
import { type DuplexIo, StreamLink } from './stream-link.ts';

export interface ServeOptions {
  readonly software?: string;
  readonly maxFrame?: number;
  /** Requests read ahead of the one being executed before reading pauses (default 64). */
  readonly window?: number;
  /** While a request runs, send a keepalive this often so the client's stall timer stays quiet. */
  readonly keepaliveIntervalMs?: number;
  /** How to name the client in messages (default 'the client'). */
  readonly peerLabel?: string;
  /** Only for tests of the version check. */
  readonly protocolVersion?: number;
}

/**
 * Serve one replica over a byte stream (`ferry serve --stdio`). Requests are read ahead up to a
 * window but executed strictly one at a time in arrival order: apply/appendWrite/finishWrite
 * depend on that order. Invalid input gets an `error` message, then the connection is closed.
 * The port is always closed at the end (releasing its lock), however the connection ends.
 * Resolves when the byte stream ends or breaks (requests already read are still answered if the
 * output allows); rejects with the FerryError when the client sent something invalid.
 */
export function serveReplica(port: ReplicaPort, io: DuplexIo, opts: ServeOptions = {}): Promise<void> {
  const window = opts.window ?? 64;
  const version = opts.protocolVersion ?? PROTOCOL_VERSION;
  const peer = opts.peerLabel ?? 'the client';
  const queue: Request[] = [];
  let greeted = false;
  let running = false;
  let ending: FerryError | 'end' | undefined;
  let finish!: (err?: FerryError) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = (err) => (err ? reject(err) : resolve());
  });

  const link = new StreamLink(
    io,
    {
      onMessage: (v) => onMessage(clientMessage(v)),
      onFail: (err) => {
        const clean = err.code === 'TRANSPORT' && ending === undefined;
        ending ??= clean ? 'end' : err;
        if (!clean && err.code !== 'TRANSPORT') void sendError(err);
        void pump();
      },
    },
    { label: peer, ...(opts.maxFrame === undefined ? {} : { maxFrame: opts.maxFrame }) },
  );

  function onMessage(msg: ClientMessage): void {
    if (msg.type === 'hello') {
      if (greeted) throw new FerryError('PROTOCOL', `${peer} sent a second hello`);
      const err = checkHello(msg, { peer, ours: version });
      if (err) throw err;
      greeted = true;
      return;
    }
    if (!greeted) throw new FerryError('PROTOCOL', `${peer} sent a request before its hello`);
    queue.push(msg);
    if (queue.length >= window) link.pause();
    void pump();
  }

  async function sendError(err: FerryError): Promise<void> {
    try {
      await link.send({ type: 'error', error: wire(err) });
    } catch {
      // The stream is already gone; the error still ends serveReplica below.
    }
  }

  /** Execute queued requests one by one; when input has ended and the queue is empty, close up. */
  async function pump(): Promise<void> {
    if (running) return;
    running = true;
    try {
      while (queue.length > 0 && (ending === undefined || ending === 'end')) {
        const req = queue.shift() as Request;
        if (queue.length < window) link.resume();
        await execute(req);
      }
    } finally {
      running = false;
    }
    if (ending !== undefined) await shutdown();
  }

  let shut = false;
  async function shutdown(): Promise<void> {
    if (shut) return;
    shut = true;
    try {
      await port.close();
    } catch {
      // close() is best effort here: the connection is over either way.
    }
    link.end();
    finish(ending === 'end' ? undefined : ending);
  }

  async function execute(req: Request): Promise<void> {
    const beat = setInterval(
      () => void link.send({ type: 'keepalive' }).catch(() => {}),
      opts.keepaliveIntervalMs ?? 10_000,
    );
    let reply: { ok: true; result: unknown } | { ok: false; error: WireError };
    try {
      reply = { ok: true, result: await call(port, req) };
    } catch (e) {
      reply = { ok: false, error: wire(e) };
    } finally {
      clearInterval(beat);
    }
    if (ending !== undefined && ending !== 'end') return;
    try {
      await sendReply(req, reply);
    } catch (e) {
      // Nobody is listening any more: do not execute what is still queued.
      queue.length = 0;
      link.fail(e instanceof FerryError ? e : link.lost(String(e)));
    } finally {
      // The reply was encoded (copied) before any of it was sent: its read bytes may be reused.
      if (req.method === 'read' && reply.ok) recycleRead(port, reply.result as ReadReply[]);
    }
  }

  async function sendReply(
    req: Request,
    reply: { ok: true; result: unknown } | { ok: false; error: WireError },
  ) {
    const res = serverToWire({ type: 'res', id: req.id, method: req.method, ...reply } as Response);
    const payload = link.encode(res);
    if (payload.length <= link.maxFrame) return link.sendPayload(payload);
    if (reply.ok && isPartMethod(req.method)) {
      return sendInParts(req.id, req.method, (res as { result: unknown }).result);
    }
    const err = new FerryError(
      'INTERNAL',
      `reply to ${req.method} is ${payload.length} bytes, above the frame limit`,
    );
    return link.send({ type: 'res', id: req.id, method: req.method, ok: false, error: wire(err) });
  }

  /**
   * Large array results go out as `part` messages, each under the frame limit, then the tail.
   * `result` is already in wire form (protocol/wire.ts), so each item is converted only once.
   */
  async function sendInParts(id: number, method: PartMethod, result: unknown): Promise<void> {
    let items: unknown[];
    let tail: unknown;
    if (method === 'scan') {
      const r = result as WireScanResult;
      items = r.entries.map((entry, i): WireScanItem => ({ entry, stat: r.stats[i] ?? null }));
      tail = { ...r, entries: [], stats: [] };
    } else {
      items = result as unknown[];
      tail = [];
    }
    const pages: Buffer[] = [];
    const split = (from: number, to: number): void => {
      const p = link.encode({ type: 'part', id, method, items: items.slice(from, to) });
      if (p.length <= link.maxFrame) pages.push(p);
      else if (to - from <= 1)
        throw new FerryError('INTERNAL', `one ${method} item is above the frame limit`);
      else {
        const mid = from + Math.floor((to - from) / 2);
        split(from, mid);
        split(mid, to);
      }
    };
    split(0, items.length);
    for (const p of pages) await link.sendPayload(p);
    await link.send({ type: 'res', id, method, ok: true, result: tail });
  }

  void link.send(makeHello(opts.software ?? 'ferry', version)).catch((e: unknown) => {
    link.fail(e instanceof FerryError ? e : link.lost(String(e)));
  });
  return done;
}

const PART_METHODS = new Set<Method>(['scan', 'read', 'chunkLists', 'apply']);
const isPartMethod = (m: Method): m is PartMethod => PART_METHODS.has(m);

function wire(e: unknown): WireError {
  if (e instanceof FerryError)
    return e.hint === undefined
      ? { code: e.code, message: e.message }
      : { code: e.code, message: e.message, hint: e.hint };
  return {
    code: 'INTERNAL',
    message: `internal error in the agent (a bug in ferry): ${e instanceof Error ? e.message : String(e)}`,
  };
}

function recycleRead(port: ReplicaPort, replies: readonly ReadReply[]): void {
  port.recycle?.(replies.flatMap((r) => (r.ok ? [r.data] : [])));
}

function call(port: ReplicaPort, req: Request): Promise<unknown> {
  switch (req.method) {
    case 'open':
      return port.open(req.opts);
    case 'readIgnoreFile':
      return port.readIgnoreFile();
    case 'scan':
      return port.scan(req.opts);
    case 'read':
      return port.read(req.reqs);
    case 'chunkLists':
      return port.chunkLists(req.reqs);
    case 'apply':
      return port.apply(req.ops);
    case 'beginWrite':
      return port.beginWrite(req.op);
    case 'appendWrite':
      return port.appendWrite(req.path, req.pieces);
    case 'finishWrite':
      return port.finishWrite(req.path);
    case 'finish':
      return port.finish(req.opts);
    case 'close':
      return port.close();
  }
}

import { FerryError } from '../../core/errors.ts';
import type { StatStamp } from '../../ports/index-store.ts';
import type {
  ApplyOp,
  ApplyReply,
  ChunkListReply,
  ChunkListRequest,
  FinishOptions,
  OpenInfo,
  OpenOptions,
  Piece,
  ReadReply,
  ReadRequest,
  ReplicaPort,
  ScanOptions,
  ScanResult,
  WireBytes,
  WriteOp,
} from '../../ports/replica.ts';
import { checkHello, makeHello } from '../../protocol/handshake.ts';
import type { Method, Params, PartItems, Request, Results, ServerMessage } from '../../protocol/messages.ts';
import { PROTOCOL_VERSION } from '../../protocol/messages.ts';
import { serverMessage } from '../../protocol/validate.ts';
import { LIMITS } from '../../protocol/validate-data.ts';
import { clientToWire } from '../../protocol/wire.ts';
import { type DuplexIo, StreamLink } from './stream-link.ts';

export interface RemoteReplicaOptions {
  /** How the user named the root, e.g. 'host:path'; used in every message. */
  readonly label: string;
  /** Fail pending calls when no byte arrives for this long (default 30 s; the agent sends keepalives). */
  readonly keepaliveMs?: number;
  readonly software?: string;
  readonly maxFrame?: number;
  /** Only for tests of the version check. */
  readonly protocolVersion?: number;
}

interface Pending {
  readonly method: Method;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: FerryError) => void;
  /** Items of `part` messages received so far, in order. */
  parts: unknown[];
}

/**
 * A replica reached over a byte stream speaking the ferry protocol (`ferry serve --stdio` at the
 * far end). Calls are pipelined: each gets an id and resolves when the response with that id
 * arrives; the agent executes them in the order sent. Every response is validated before it is
 * used (I8). Once the link fails, every pending and later call rejects with the same error.
 */
export class RemoteReplica implements ReplicaPort {
  readonly label: string;
  readonly #link: StreamLink;
  readonly #pending = new Map<number, Pending>();
  readonly #keepaliveMs: number;
  readonly #version: number;
  #nextId = 1;
  #greeted = false;
  #failure: FerryError | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #ready: Promise<void>;
  #readyResolve!: () => void;
  #readyReject!: (e: FerryError) => void;

  constructor(io: DuplexIo, opts: RemoteReplicaOptions) {
    this.label = opts.label;
    this.#keepaliveMs = opts.keepaliveMs ?? 30_000;
    this.#version = opts.protocolVersion ?? PROTOCOL_VERSION;
    this.#ready = new Promise<void>((resolve, reject) => {
      this.#readyResolve = resolve;
      this.#readyReject = reject;
    });
    // Callers that never call a method must not see an unhandled rejection.
    this.#ready.catch(() => {});
    this.#link = new StreamLink(
      io,
      {
        onMessage: (v) => this.#onMessage(serverMessage(v)),
        onBytes: () => this.#timer?.refresh(),
        onFail: (err) => this.#fail(err),
      },
      { label: opts.label, ...(opts.maxFrame === undefined ? {} : { maxFrame: opts.maxFrame }) },
    );
    this.#arm();
    this.#link
      .send(makeHello(opts.software ?? 'ferry', this.#version))
      .catch((e: unknown) => this.#fail(asError(e)));
  }

  /** Protocol bytes both ways so far, hellos and frame headers included (not ssh's own overhead). */
  wireBytes(): WireBytes {
    return this.#link.bytes;
  }

  /** Resolves once both hellos are exchanged and the versions match. */
  ready(): Promise<void> {
    return this.#ready;
  }

  open(opts: OpenOptions): Promise<OpenInfo> {
    return this.#call('open', { opts });
  }
  readIgnoreFile(): Promise<string | undefined> {
    return this.#call('readIgnoreFile', {});
  }
  scan(opts: ScanOptions): Promise<ScanResult> {
    return this.#call('scan', { opts });
  }
  read(reqs: readonly ReadRequest[]): Promise<ReadReply[]> {
    return this.#call('read', { reqs });
  }
  chunkLists(reqs: readonly ChunkListRequest[]): Promise<ChunkListReply[]> {
    return this.#call('chunkLists', { reqs });
  }
  apply(ops: readonly ApplyOp[]): Promise<ApplyReply[]> {
    return this.#call('apply', { ops });
  }
  beginWrite(op: WriteOp): Promise<void> {
    return this.#call('beginWrite', { op });
  }
  appendWrite(path: string, pieces: readonly Piece[]): Promise<void> {
    return this.#call('appendWrite', { path, pieces });
  }
  finishWrite(path: string): Promise<ApplyReply> {
    return this.#call('finishWrite', { path });
  }
  finish(opts: FinishOptions): Promise<void> {
    return this.#call('finish', { opts });
  }

  /** Ask the agent to release its lock, then end our side. Never throws; safe to call twice. */
  async close(): Promise<void> {
    if (this.#failure === undefined) {
      try {
        await this.#call('close', {});
      } catch {
        // The link is gone or the agent failed to close: either way there is nothing left to release here.
      }
    }
    this.#fail(new FerryError('TRANSPORT', `the connection to ${this.label} was closed`));
    this.#link.end();
  }

  /**
   * Nothing holds `params` once the request is encoded: the pieces of a large appendWrite are
   * garbage as soon as they are copied into the frame, not only once the frame is written.
   */
  #call<M extends Method>(method: M, params: Params[M] & object): Promise<Results[M]> {
    return this.#ready.then(() => this.#start(method, params));
  }

  #start<M extends Method>(method: M, params: Params[M] & object): Promise<Results[M]> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    const result = new Promise<Results[M]>((resolve, reject) => {
      this.#pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject, parts: [] });
    });
    this.#arm();
    // Wait for the stream to take the request (backpressure), but not past a failure of the link:
    // a stalled peer never drains, and the call must end when the stall timer fails the link.
    const req = { type: 'req', id, method, ...params } as Request;
    const sent = this.#link.send(clientToWire(req)).catch((e: unknown) => {
      // Too large to send is this call's problem; a broken stream fails everything via #fail.
      this.#settle(id)?.reject(asError(e));
    });
    return Promise.race([sent, result.then(noop, noop)]).then(() => result);
  }

  #onMessage(msg: ServerMessage): void {
    if (msg.type === 'hello') {
      if (this.#greeted) throw new FerryError('PROTOCOL', `${this.label} sent a second hello`);
      const err = checkHello(msg, { peer: `the agent at ${this.label}`, ours: this.#version });
      if (err) throw err;
      this.#greeted = true;
      this.#readyResolve();
      this.#arm();
      return;
    }
    if (msg.type === 'error') {
      const e = msg.error;
      throw new FerryError(
        e.code,
        `${this.label}: ${e.message}`,
        e.hint === undefined ? {} : { hint: e.hint },
      );
    }
    if (!this.#greeted) throw new FerryError('PROTOCOL', `${this.label} sent '${msg.type}' before its hello`);
    if (msg.type === 'keepalive') return;
    const p = this.#pending.get(msg.id);
    if (p === undefined || p.method !== msg.method) {
      throw new FerryError(
        'PROTOCOL',
        `${this.label} answered a request it was not sent (id ${msg.id}, ${msg.method})`,
      );
    }
    if (msg.type === 'part') {
      for (const item of msg.items) p.parts.push(item);
      const max = msg.method === 'scan' ? LIMITS.scanEntries : LIMITS.batch;
      if (p.parts.length > max)
        throw new FerryError('PROTOCOL', `${this.label} sent more than ${max} ${msg.method} items`);
      return;
    }
    if (!msg.ok) {
      this.#settle(msg.id);
      const e = msg.error;
      p.reject(new FerryError(e.code, e.message, e.hint === undefined ? {} : { hint: e.hint }));
      return;
    }
    // May throw (too many items): then the call is still pending and #fail rejects it.
    const value = withParts(msg.method, msg.result, p.parts, this.label);
    this.#settle(msg.id);
    p.resolve(value);
  }

  #settle(id: number): Pending | undefined {
    const p = this.#pending.get(id);
    this.#pending.delete(id);
    this.#arm();
    return p;
  }

  /** The stall timer runs only while something is awaited, and restarts on every received byte. */
  #arm(): void {
    const waiting = this.#failure === undefined && (!this.#greeted || this.#pending.size > 0);
    if (!waiting) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    } else if (this.#timer === undefined) {
      const secs = this.#keepaliveMs / 1000;
      this.#timer = setTimeout(() => {
        this.#link.fail(
          this.#link.lost(
            `no data for ${secs} s while waiting for a reply (the agent or the network stalled)`,
          ),
        );
      }, this.#keepaliveMs);
    }
  }

  #fail(err: FerryError): void {
    if (this.#failure) return;
    this.#failure = err;
    this.#arm();
    this.#link.fail(err);
    this.#readyReject(err);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(err);
    // Tell the agent we are done; the owner of the stream (ssh child) tears down the rest.
    this.#link.end();
  }
}

const noop = (): void => {};

function asError(e: unknown): FerryError {
  return e instanceof FerryError
    ? e
    : new FerryError('INTERNAL', `internal error (a bug in ferry): ${String(e)}`);
}

/** Put `part` items in front of the final response's own items. */
function withParts(method: Method, result: unknown, parts: unknown[], label: string): unknown {
  if (parts.length === 0) return result;
  if (method === 'scan') {
    const r = result as ScanResult;
    const items = parts as PartItems['scan'][];
    const entries = items.map((x) => x.entry).concat(r.entries);
    const stats: (StatStamp | null)[] = items.map((x) => x.stat).concat(r.stats);
    if (entries.length > LIMITS.scanEntries)
      throw new FerryError('PROTOCOL', `${label} sent too many scan entries`);
    return { ...r, entries, stats };
  }
  const all = parts.concat(result as unknown[]);
  if (all.length > LIMITS.batch) throw new FerryError('PROTOCOL', `${label} sent too many ${method} replies`);
  return all;
}

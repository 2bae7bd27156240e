import { Buffer } from 'node:buffer';
import { Worker } from 'node:worker_threads';
import { FerryError } from '../core/errors.ts';
import type { StreamHasher, StreamHasherFactory } from '../ports/filesystem.ts';

/*
 * SHA-256 on a second core. Hashing a large file whole and per chunk costs ~0.75 s per 512 MiB
 * on one core here, as much as reading, chunking and writing it; one worker thread takes the
 * hashing so the calling thread keeps reading, cutting and writing. The worker is evaluated from
 * the string below (CommonJS, node:crypto only), so dist/ferry.mjs stays one self-contained file
 * and the same code runs under the tests' TypeScript loader. One worker serves every stream of
 * the process, started on first use (~30 ms); it keeps the process alive only while a reply is
 * awaited.
 *
 * Messages to the worker, in order per stream id: {id, chunks, data, cuts, end}, or {id, abort}.
 * Replies: {id, done: bytes, buffer} per data message (the block's memory, returned for reuse),
 * then {id, hash, chunks} or {id, error} at the end.
 */
const WORKER_SOURCE = `'use strict';
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const streams = new Map();
parentPort.on('message', (m) => {
  if (m.abort) {
    streams.delete(m.id);
    return;
  }
  let s = streams.get(m.id);
  if (s === undefined) {
    s = { whole: createHash('sha256'), chunk: m.chunks ? createHash('sha256') : undefined, held: 0, hashes: [], bad: undefined };
    streams.set(m.id, s);
  }
  const d = m.data;
  s.whole.update(d);
  if (s.chunk !== undefined && s.bad === undefined) {
    let pos = 0;
    for (const size of m.cuts) {
      const take = size - s.held;
      if (take < 0 || take > d.length - pos) {
        s.bad = 'chunk sizes do not match the bytes';
        break;
      }
      s.chunk.update(d.subarray(pos, pos + take));
      pos += take;
      s.hashes.push(s.chunk.digest('hex'));
      s.chunk = createHash('sha256');
      s.held = 0;
    }
    if (s.bad === undefined) {
      s.chunk.update(d.subarray(pos));
      s.held += d.length - pos;
    }
  }
  if (!m.end) {
    // The memory goes back to be filled again: fresh buffers cost a page fault per 4 KiB.
    parentPort.postMessage({ id: m.id, done: d.length, buffer: d.buffer }, [d.buffer]);
    return;
  }
  streams.delete(m.id);
  if (s.bad !== undefined) parentPort.postMessage({ id: m.id, error: s.bad });
  else parentPort.postMessage({ id: m.id, hash: s.whole.digest('hex'), chunks: s.hashes });
});
`;

/** Small blocks are gathered up to this size per message (a message costs tens of microseconds). */
const STAGE = 4 << 20;
/** Bytes handed to the worker and not hashed yet, above which push() waits. */
const MAX_WAITING = 32 << 20;
/** Returned buffers kept to be filled again (16 MiB at most stays allocated). */
const SPARE = 4;

type Reply =
  | { readonly id: number; readonly done: number; readonly buffer: ArrayBuffer }
  | { readonly id: number; readonly hash: string; readonly chunks: readonly string[] }
  | { readonly id: number; readonly error: string };

interface Listener {
  done(bytes: number): void;
  result(r: { readonly hash: string; readonly chunks: readonly string[] }): void;
  fail(e: FerryError): void;
}

class HashWorker {
  private readonly worker: Worker;
  private readonly streams = new Map<number, Listener>();
  private nextId = 1;
  /** Stage buffers the worker gave back, to be filled again. */
  readonly spare: ArrayBuffer[] = [];
  /** Posted messages whose reply has not come yet: the worker is ref'd while there are any. */
  private awaited = 0;
  failure: FerryError | undefined;

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, { eval: true });
    this.worker.on('message', (m: Reply) => this.onReply(m));
    this.worker.on('error', (e: Error) => this.fail(e.message));
    this.worker.on('exit', (code: number) => this.fail(`exited with code ${code}`));
    // After the listeners: adding a 'message' listener refs the worker again, and a worker that
    // only ever got an abort (no reply awaited) would then keep the process from ever exiting.
    this.worker.unref();
  }

  open(l: Listener): number {
    const id = this.nextId++;
    this.streams.set(id, l);
    return id;
  }

  post(msg: object, transfer: readonly ArrayBuffer[], replied: boolean): void {
    if (replied && this.awaited++ === 0) this.worker.ref();
    this.worker.postMessage(msg, [...transfer]);
  }

  forget(id: number): void {
    this.streams.delete(id);
  }

  private onReply(m: Reply): void {
    if (--this.awaited === 0) this.worker.unref();
    const l = this.streams.get(m.id);
    if (l === undefined) return;
    if ('done' in m) {
      if (m.buffer.byteLength === STAGE && this.spare.length < SPARE) this.spare.push(m.buffer);
      l.done(m.done);
      return;
    }
    this.streams.delete(m.id);
    if ('error' in m) l.fail(internal(m.error));
    else l.result(m);
  }

  private fail(why: string): void {
    if (this.failure) return;
    this.failure = internal(`the hashing thread failed: ${why}`);
    if (shared === this) shared = undefined;
    for (const l of this.streams.values()) l.fail(this.failure);
    this.streams.clear();
    this.worker.unref();
  }
}

const internal = (why: string): FerryError =>
  new FerryError('INTERNAL', `internal error (a bug in ferry): ${why}`);

let shared: HashWorker | undefined;

class WorkerStream implements StreamHasher {
  private readonly id: number;
  private stage: Buffer | undefined;
  private staged = 0;
  private cuts: number[] = [];
  private waiting = 0;
  private wake: (() => void) | undefined;
  private error: FerryError | undefined;
  private readonly result: Promise<{ readonly hash: string; readonly chunks: readonly string[] }>;

  constructor(
    private readonly worker: HashWorker,
    private readonly chunks: boolean,
  ) {
    let resolve!: (r: { readonly hash: string; readonly chunks: readonly string[] }) => void;
    let reject!: (e: FerryError) => void;
    this.result = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A stream aborted or failed before end() is awaited must not count as an unhandled rejection.
    this.result.catch(() => undefined);
    this.id = worker.open({
      done: (bytes) => {
        this.waiting -= bytes;
        this.wakeUp();
      },
      result: resolve,
      fail: (e) => {
        this.error ??= e;
        this.wakeUp();
        reject(e);
      },
    });
  }

  async push(block: Uint8Array, cuts: readonly number[], give: boolean): Promise<void> {
    if (this.error) throw this.error;
    if (this.staged + block.length > STAGE) this.flush();
    if (block.length >= STAGE) this.send(give && ownBuffer(block) ? block : copy(block), cuts, false);
    else {
      this.stage ??= reuse(this.worker.spare.pop()) ?? Buffer.allocUnsafeSlow(STAGE);
      this.stage.set(block, this.staged);
      this.staged += block.length;
      for (const c of cuts) this.cuts.push(c);
    }
    while (this.waiting > MAX_WAITING && !this.error) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
    if (this.error) throw this.error;
  }

  end(last: number): Promise<{ readonly hash: string; readonly chunks: readonly string[] }> {
    if (this.error) return Promise.reject(this.error);
    this.flush();
    this.send(new Uint8Array(0), last > 0 ? [last] : [], true);
    return this.result;
  }

  abort(): void {
    if (this.error) return;
    this.error = internal('hashing of an abandoned stream');
    this.worker.forget(this.id);
    if (!this.worker.failure) this.worker.post({ id: this.id, abort: true }, [], false);
    this.stage = undefined;
  }

  private flush(): void {
    if (this.stage === undefined || this.staged === 0) return;
    const data = this.stage.subarray(0, this.staged);
    const cuts = this.cuts;
    this.stage = undefined;
    this.staged = 0;
    this.cuts = [];
    this.send(data, cuts, false);
  }

  /** Moves `data`'s memory to the worker: a buffer no one else holds (or an empty end marker). */
  private send(data: Uint8Array, cuts: readonly number[], end: boolean): void {
    this.waiting += data.length;
    const transfer = data.byteLength > 0 && data.buffer instanceof ArrayBuffer ? [data.buffer] : [];
    this.worker.post({ id: this.id, chunks: this.chunks, data, cuts, end }, transfer, true);
  }

  private wakeUp(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

const reuse = (b: ArrayBuffer | undefined): Buffer | undefined => (b ? Buffer.from(b) : undefined);

/** A view of a whole ArrayBuffer: moving that buffer moves nothing else. */
const ownBuffer = (b: Uint8Array): boolean =>
  b.byteOffset === 0 && b.buffer instanceof ArrayBuffer && b.byteLength === b.buffer.byteLength;

function copy(block: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafeSlow(block.length);
  out.set(block);
  return out;
}

/** The node adapter's StreamHasher: SHA-256 on the shared worker thread. */
export const offThreadSha256: StreamHasherFactory = (opts) => {
  shared ??= new HashWorker();
  return new WorkerStream(shared, opts.chunks);
};

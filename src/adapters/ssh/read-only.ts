import { FerryError } from '../../core/errors.ts';
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
  WriteOp,
} from '../../ports/replica.ts';

/**
 * `ferry serve --read-only`: the replica can be opened, scanned and read, never changed. Every
 * write is refused with a clear error, and nothing is persisted (scan and finish run as dry runs,
 * open takes no lock and creates nothing).
 */
export class ReadOnlyReplica implements ReplicaPort {
  readonly label: string;
  readonly #inner: ReplicaPort;

  constructor(inner: ReplicaPort) {
    this.#inner = inner;
    this.label = inner.label;
  }

  #refuse(what: string): FerryError {
    return new FerryError('BAD_ROOT', `${this.label} is served read-only: refusing to ${what}`, {
      hint: 'the key for this host is limited to reading (ferry serve --read-only)',
    });
  }

  async open(opts: OpenOptions): Promise<OpenInfo> {
    const info = await this.#inner.open({
      create: false,
      readOnly: true,
      ...(opts.singleFile === undefined ? {} : { singleFile: opts.singleFile }),
    });
    if (opts.create && !opts.readOnly && info.replicaId === '')
      throw this.#refuse('create its .ferry marker (sync it once with write access first)');
    return info;
  }
  readIgnoreFile(): Promise<string | undefined> {
    return this.#inner.readIgnoreFile();
  }
  scan(opts: ScanOptions): Promise<ScanResult> {
    return this.#inner.scan({ ...opts, dryRun: true });
  }
  read(reqs: readonly ReadRequest[]): Promise<ReadReply[]> {
    return this.#inner.read(reqs);
  }
  chunkLists(reqs: readonly ChunkListRequest[]): Promise<ChunkListReply[]> {
    return this.#inner.chunkLists(reqs);
  }
  async apply(ops: readonly ApplyOp[]): Promise<ApplyReply[]> {
    const op = ops.find((o) => o.op !== 'record');
    if (op !== undefined) throw this.#refuse(`${op.op} ${op.path}`);
    // Index-only adoptions change no file; they are simply not persisted (the next run redoes them).
    return ops.map((o) => ({ ok: true, path: o.path, bytesWritten: 0 }));
  }
  async beginWrite(op: WriteOp): Promise<void> {
    throw this.#refuse(`write ${op.path}`);
  }
  async appendWrite(path: string, _pieces: readonly Piece[]): Promise<void> {
    throw this.#refuse(`write ${path}`);
  }
  async finishWrite(path: string): Promise<ApplyReply> {
    throw this.#refuse(`write ${path}`);
  }
  finish(opts: FinishOptions): Promise<void> {
    return this.#inner.finish({ ...opts, dryRun: true });
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}

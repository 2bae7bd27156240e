import type { Buffer } from 'node:buffer';
import type { Readable, Writable } from 'node:stream';
import { FerryError } from '../../core/errors.ts';
import type { WireBytes } from '../../ports/replica.ts';
import { decode, encode } from '../../protocol/codec.ts';
import {
  DEFAULT_MAX_FRAME,
  encodeFrame,
  FrameDecoder,
  frameHeader,
  HEADER_BYTES,
} from '../../protocol/frame.ts';

/** Payloads from this size on are written after their header as they are, not copied into a frame. */
const BIG_PAYLOAD = 64 * 1024;

/** A duplex byte stream: ssh's stdio, a child's pipes, or two PassThroughs in a test. */
export interface DuplexIo {
  readonly input: Readable;
  readonly output: Writable;
}

export interface LinkHandlers {
  /** One decoded (not yet validated) message. May throw FerryError to report invalid input. */
  onMessage(value: unknown): void;
  /** Bytes arrived, whether or not they completed a message (keepalive tracking). */
  onBytes?(): void;
  /** The byte stream is unusable: bad framing or encoding (PROTOCOL) or it ended or failed (TRANSPORT). Called once. */
  onFail(err: FerryError): void;
}

export interface LinkOptions {
  /** Names the far side in TRANSPORT messages, e.g. 'lost the connection to <label>'. */
  readonly label: string;
  readonly maxFrame?: number;
}

/**
 * Frames messages over a duplex stream. Invariants: after `onFail` no further message is
 * delivered; every write waits for 'drain' when the stream asks for it, and a wait never outlives
 * the stream (it rejects when the output closes or fails).
 */
export class StreamLink {
  readonly #io: DuplexIo;
  readonly #h: LinkHandlers;
  readonly #label: string;
  readonly maxFrame: number;
  readonly #frames: FrameDecoder;
  #failed: FerryError | undefined;
  #outputGone: FerryError | undefined;
  readonly #detach: () => void;
  /** Bytes of whole frames handed to the output, and bytes read from the input (headers included). */
  #sent = 0;
  #received = 0;
  /** The one pending wait for 'drain', when the output asked to wait. */
  #drained: Promise<void> | undefined;

  constructor(io: DuplexIo, handlers: LinkHandlers, opts: LinkOptions) {
    this.#io = io;
    this.#h = handlers;
    this.#label = opts.label;
    this.maxFrame = opts.maxFrame ?? DEFAULT_MAX_FRAME;
    this.#frames = new FrameDecoder({ maxFrame: this.maxFrame });
    const onData = (chunk: Buffer | string) => this.#onData(chunk);
    const onEnd = () => this.fail(this.lost('the other side closed the connection'));
    const onClose = () => this.fail(this.lost('the stream was closed'));
    const onInputError = (err: Error) => this.fail(this.lost(err.message, err));
    const onOutputError = (err: Error) => {
      this.#outputGone = this.lost(err.message, err);
      this.fail(this.#outputGone);
    };
    const onOutputClose = () => {
      this.#outputGone ??= this.lost('the output stream was closed');
    };
    io.input.on('data', onData);
    io.input.on('end', onEnd);
    io.input.on('close', onClose);
    io.input.on('error', onInputError);
    io.output.on('error', onOutputError);
    io.output.on('close', onOutputClose);
    this.#detach = () => {
      io.input.off('data', onData);
      io.input.off('end', onEnd);
      io.input.off('close', onClose);
      io.input.off('error', onInputError);
      io.output.off('close', onOutputClose);
      // The output error listener stays: a late EPIPE must not become an uncaught exception.
    };
  }

  get failed(): FerryError | undefined {
    return this.#failed;
  }

  /** Everything this link put on and took off the stream so far: the run's bytes on the wire. */
  get bytes(): WireBytes {
    return { sent: this.#sent, received: this.#received };
  }

  lost(why: string, cause?: unknown): FerryError {
    return new FerryError('TRANSPORT', `lost the connection to ${this.#label}: ${why}`, { cause });
  }

  /** Stop delivering messages and report `err` once. Later calls are ignored. */
  fail(err: FerryError): void {
    if (this.#failed) return;
    this.#failed = err;
    this.#detach();
    this.#io.input.pause();
    this.#h.onFail(err);
  }

  pause(): void {
    this.#io.input.pause();
  }

  resume(): void {
    if (!this.#failed) this.#io.input.resume();
  }

  /** msgpack payload of a message, so a caller can check its size before framing. */
  encode(msg: unknown): Buffer {
    return encode(msg);
  }

  send(msg: unknown): Promise<void> {
    return this.sendPayload(encode(msg));
  }

  /**
   * Write one frame; resolves once the stream can take more (backpressure). Senders that find the
   * stream full share one wait for 'drain', so pipelined calls add no listener each.
   */
  async sendPayload(payload: Uint8Array): Promise<void> {
    if (this.#outputGone) throw this.#outputGone;
    const out = this.#io.output;
    if (out.writableEnded || out.destroyed) throw this.lost('the output stream was closed');
    let flowing: boolean;
    if (payload.length < BIG_PAYLOAD) {
      flowing = out.write(encodeFrame(payload, { maxFrame: this.maxFrame }));
    } else {
      // Header and payload as two writes in one writev: a large payload is never copied.
      const header = frameHeader(payload.length, { maxFrame: this.maxFrame });
      out.cork();
      out.write(header);
      flowing = out.write(payload);
      out.uncork();
    }
    this.#sent += HEADER_BYTES + payload.length;
    if (flowing) return;
    this.#drained ??= new Promise<void>((resolve, reject) => {
      const done = (err?: FerryError) => {
        this.#drained = undefined;
        out.off('drain', onDrain);
        out.off('close', onGone);
        out.off('error', onGone);
        if (err) reject(err);
        else resolve();
      };
      const onDrain = () => done();
      const onGone = () => done(this.#outputGone ?? this.lost('the output stream was closed'));
      out.on('drain', onDrain);
      out.on('close', onGone);
      out.on('error', onGone);
    });
    await this.#drained;
  }

  /** Finish our side of the stream (the far side sees end-of-input). */
  end(): void {
    const out = this.#io.output;
    if (!out.writableEnded && !out.destroyed) out.end();
  }

  #onData(chunk: Buffer | string): void {
    if (this.#failed) return;
    if (typeof chunk === 'string') {
      this.fail(
        new FerryError('INTERNAL', 'internal error (a bug in ferry): input stream has an encoding set'),
      );
      return;
    }
    this.#received += chunk.length;
    this.#h.onBytes?.();
    try {
      for (const payload of this.#frames.push(chunk)) {
        if (this.#failed) return;
        this.#h.onMessage(decode(payload));
      }
    } catch (err) {
      // Anything but a FerryError here is a bug in our own handlers, not the peer's fault.
      this.fail(
        err instanceof FerryError
          ? err
          : new FerryError('INTERNAL', `internal error (a bug in ferry): ${String(err)}`, { cause: err }),
      );
    }
  }
}

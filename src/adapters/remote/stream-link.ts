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
 * delivered; a send the stream asks to wait resolves only once its own frame is written, and a
 * wait never outlives the stream (it rejects when the output closes or fails).
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
  /** Sends waiting for their frame to be written; failed together when the output closes or fails. */
  readonly #waiting = new Set<(err: FerryError) => void>();

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
    // Not detached by fail(): a send may still wait for its frame after the input is gone.
    const failWaits = () => {
      const err = this.#outputGone ?? this.lost('the output stream was closed');
      for (const fail of [...this.#waiting]) fail(err);
    };
    io.input.on('data', onData);
    io.input.on('end', onEnd);
    io.input.on('close', onClose);
    io.input.on('error', onInputError);
    io.output.on('error', onOutputError);
    io.output.on('close', onOutputClose);
    io.output.on('close', failWaits);
    io.output.on('error', failWaits);
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
   * Write one frame. Resolves at once while the output is below its high-water mark; otherwise
   * once this frame itself has left the output's queue (its write callback), so a sender that
   * awaits each send never has more than the high-water mark plus one frame queued. Not once
   * the queue is empty ('drain'): pipelined senders keep it from ever emptying, and a drain wait
   * then never ends. Nothing here holds the payload while waiting: only the output's queue does,
   * until the frame is written.
   */
  sendPayload(payload: Uint8Array): Promise<void> {
    if (this.#outputGone) return Promise.reject(this.#outputGone);
    const out = this.#io.output;
    if (out.writableEnded || out.destroyed) return Promise.reject(this.lost('the output stream was closed'));
    let frame: Buffer;
    try {
      frame =
        payload.length < BIG_PAYLOAD
          ? encodeFrame(payload, { maxFrame: this.maxFrame })
          : frameHeader(payload.length, { maxFrame: this.maxFrame });
    } catch (e) {
      return Promise.reject(e);
    }
    const wait = new FrameWait();
    let flowing: boolean;
    if (payload.length < BIG_PAYLOAD) {
      flowing = out.write(frame, wait.written);
    } else {
      // Header and payload as two writes in one writev: a large payload is never copied.
      out.cork();
      out.write(frame);
      flowing = out.write(payload, wait.written);
      out.uncork();
    }
    this.#sent += HEADER_BYTES + payload.length;
    if (flowing) return Promise.resolve();
    return wait.promise(this.#waiting, (err) => this.#outputGone ?? this.lost(err.message, err));
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

/**
 * The wait of one frame the output queued above its high-water mark: settled by the frame's write
 * callback (which may come before anyone waits), or failed with the output.
 */
class FrameWait {
  #outcome: { err: Error | null | undefined } | undefined;
  #settle: ((err: Error | null | undefined) => void) | undefined;

  readonly written = (err?: Error | null): void => {
    if (this.#settle) this.#settle(err);
    else this.#outcome = { err };
  };

  promise(waiting: Set<(err: FerryError) => void>, lost: (err: Error) => FerryError): Promise<void> {
    const outcome = this.#outcome;
    if (outcome) return outcome.err ? Promise.reject(lost(outcome.err)) : Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const fail = (err: FerryError) => {
        waiting.delete(fail);
        this.#settle = undefined;
        reject(err);
      };
      this.#settle = (err) => {
        waiting.delete(fail);
        this.#settle = undefined;
        if (err) reject(lost(err));
        else resolve();
      };
      waiting.add(fail);
    });
  }
}

import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { StreamLink } from '../../src/adapters/remote/stream-link.ts';
import { FerryError } from '../../src/core/errors.ts';
import { HEADER_BYTES } from '../../src/protocol/frame.ts';

/** An output whose reader takes one queued write only when the test says so. */
class SlowPeer extends Writable {
  readonly #queued: { readonly length: number; readonly done: () => void }[] = [];
  taken = 0;

  constructor(highWaterMark: number) {
    super({ highWaterMark });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.#queued.push({ length: chunk.length, done });
  }

  /** The reader takes the oldest write handed to it. */
  takeOne(): void {
    const w = this.#queued.shift();
    assert.ok(w, 'nothing was handed to the peer');
    this.taken += w.length;
    w.done();
  }
}

/** Lets every write callback and promise reaction that is due run (no timer, no sleep). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function watch(p: Promise<void>): { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } {
  const w: { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } = { state: 'pending' };
  p.then(
    () => {
      w.state = 'resolved';
    },
    (e: unknown) => {
      w.state = 'rejected';
      w.error = e;
    },
  );
  return w;
}

function linkTo(out: Writable): StreamLink {
  return new StreamLink(
    { input: new PassThrough(), output: out },
    { onMessage: () => undefined, onFail: () => undefined },
    { label: 'peer' },
  );
}

const HWM = 1024;
const PAYLOAD = 100 * 1024;
const FRAME = HEADER_BYTES + PAYLOAD;

describe('stream link backpressure', () => {
  it('a send that waited resolves once its own frame is written, while later frames keep the output busy', async () => {
    // Pipelined senders (a large file's appends) keep the output's queue from ever emptying, so
    // 'drain' never came: each waiting send held its frame until the whole file was sent.
    const out = new SlowPeer(HWM);
    const link = linkTo(out);
    const sends = [0, 1, 2].map(() => watch(link.sendPayload(new Uint8Array(PAYLOAD))));
    for (let frame = 1; frame <= 3; frame++) {
      while (out.taken < frame * FRAME) {
        out.takeOne();
        await settle();
      }
      assert.deepEqual(
        sends.map((s) => s.state),
        sends.map((_, i) => (i < frame ? 'resolved' : 'pending')),
        `after the peer read ${frame} frame(s)`,
      );
      if (frame < 3) assert.equal(out.writableLength, (3 - frame) * FRAME, 'later frames still queued');
    }
  });

  it('a sender that awaits each send never has more than the high-water mark and one frame queued', async () => {
    const out = new SlowPeer(HWM);
    const link = linkTo(out);
    let sent = 0;
    const sender = (async () => {
      for (let i = 0; i < 8; i++) {
        await link.sendPayload(new Uint8Array(i % 2 === 0 ? PAYLOAD : 100));
        sent++;
      }
    })();
    let most = 0;
    await settle();
    while (sent < 8) {
      most = Math.max(most, out.writableLength);
      out.takeOne();
      await settle();
    }
    await sender;
    assert.ok(most <= HWM + FRAME, `${most} bytes were queued`);
    assert.ok(most >= FRAME, 'the peer was slower than the sender');
  });

  it('a waiting send fails with TRANSPORT when the output is closed, and no later send is taken', async () => {
    const out = new SlowPeer(HWM);
    const link = linkTo(out);
    const waiting = watch(link.sendPayload(new Uint8Array(PAYLOAD)));
    await settle();
    assert.equal(waiting.state, 'pending');
    out.destroy();
    await settle();
    assert.equal(waiting.state, 'rejected');
    assert.ok(waiting.error instanceof FerryError);
    assert.equal(waiting.error.code, 'TRANSPORT');
    assert.match(waiting.error.message, /lost the connection to peer/);
    await assert.rejects(link.sendPayload(new Uint8Array(10)), (e: unknown) => {
      return e instanceof FerryError && e.code === 'TRANSPORT';
    });
  });

  it('a frame above the limit is refused as PROTOCOL without writing anything', async () => {
    const out = new SlowPeer(HWM);
    const link = new StreamLink(
      { input: new PassThrough(), output: out },
      { onMessage: () => undefined, onFail: () => undefined },
      { label: 'peer', maxFrame: 1000 },
    );
    for (const size of [1001, PAYLOAD]) {
      await assert.rejects(link.sendPayload(new Uint8Array(size)), (e: unknown) => {
        return e instanceof FerryError && e.code === 'PROTOCOL';
      });
    }
    assert.equal(out.writableLength, 0);
    assert.equal(link.bytes.sent, 0);
  });
});

import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FerryError } from '../../src/core/errors.ts';
import { decode, encode } from '../../src/protocol/codec.ts';
import { encodeFrame, FrameDecoder } from '../../src/protocol/frame.ts';
import { clientMessage, serverMessage } from '../../src/protocol/validate.ts';
import { clientToWire, serverToWire } from '../../src/protocol/wire.ts';
import { SAMPLE_CLIENT, SAMPLE_SERVER } from './protocol-samples.ts';

/**
 * Whatever bytes a peer sends, the receiving pipeline (frames -> msgpack -> validator) either
 * yields valid, plain messages or throws FerryError: never another exception, never a hang, and
 * memory stays bounded by the frame limit.
 */
const MAX = 64 * 1024;

/** Feed bytes in the given chunk sizes; returns how many messages validated, or the FerryError. */
function receive(bytes: Uint8Array, cuts: readonly number[], side: 'client' | 'server'): number | FerryError {
  const frames = new FrameDecoder({ maxFrame: MAX });
  let ok = 0;
  try {
    let off = 0;
    let i = 0;
    while (off < bytes.length) {
      const n = Math.max(1, cuts[i++ % Math.max(1, cuts.length)] ?? bytes.length);
      for (const payload of frames.push(bytes.subarray(off, off + n))) {
        const msg = side === 'server' ? clientMessage(decode(payload)) : serverMessage(decode(payload));
        assertPlain(msg);
        ok++;
      }
      assert.ok(frames.buffered <= MAX + 4);
      off += n;
    }
    return ok;
  } catch (e) {
    if (e instanceof FerryError) {
      assert.equal(e.code, 'PROTOCOL', e.message);
      return e;
    }
    throw e;
  }
}

/** Only plain objects, arrays, primitives and Uint8Array views may come out of validation. */
function assertPlain(v: unknown): void {
  if (v === null || typeof v !== 'object') {
    assert.ok(['string', 'number', 'boolean', 'undefined'].includes(typeof v) || v === null, typeof v);
    return;
  }
  if (v instanceof Uint8Array) {
    assert.equal(Object.getPrototypeOf(v), Uint8Array.prototype);
    return;
  }
  const proto = Object.getPrototypeOf(v);
  assert.ok(proto === Object.prototype || proto === Array.prototype, 'non-plain object');
  for (const x of Object.values(v)) assertPlain(x);
}

const samples = [
  ...SAMPLE_CLIENT.map((m) => ({ side: 'server' as const, bytes: encodeFrame(encode(clientToWire(m))) })),
  ...SAMPLE_SERVER.map((m) => ({ side: 'client' as const, bytes: encodeFrame(encode(serverToWire(m))) })),
];

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 9 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 16 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(src: Buffer, ms: readonly Mutation[], keepHeader: boolean): Buffer {
  let b = Buffer.from(src);
  for (const m of ms) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    if (m.kind === 'set') b[at] = m.byte;
    else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
    else b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]);
  }
  if (!keepHeader || b.length < 4) return b;
  // Keep the length header consistent so mutations reach the msgpack and validation layers.
  b.writeUInt32BE(b.length - 4, 0);
  return b;
}

describe('protocol fuzz', () => {
  it('random bytes only ever yield valid messages or a FerryError', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2048 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 8 }),
        fc.boolean(),
        (bytes, cuts, client) => {
          receive(bytes, cuts, client ? 'client' : 'server');
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('random msgpack payloads in well-formed frames yield valid messages or a FerryError', () => {
    fc.assert(
      fc.property(
        fc.anything({ withNullPrototype: true, withTypedArray: false }),
        fc.boolean(),
        (v, client) => {
          let payload: Buffer;
          try {
            payload = encode(v);
          } catch {
            return; // msgpackr cannot encode it: nothing to send
          }
          if (payload.length > MAX) return;
          receive(encodeFrame(payload), [], client ? 'client' : 'server');
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('mutated valid frames only ever yield valid messages or a FerryError', () => {
    let rejected = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(...samples),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        fc.array(fc.integer({ min: 1, max: 200 }), { maxLength: 4 }),
        (sample, ms, keepHeader, cuts) => {
          const r = receive(mutate(sample.bytes, ms, keepHeader), cuts, sample.side);
          if (r instanceof FerryError) rejected++;
        },
      ),
      { numRuns: 5000 },
    );
    // The mutations must actually exercise the rejection paths.
    assert.ok(rejected > 100, `only ${rejected} rejections`);
  });

  it('unmutated samples all validate, in one stream, however it is split', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 10 }), (cuts) => {
        const client = Buffer.concat(samples.filter((s) => s.side === 'server').map((s) => s.bytes));
        assert.equal(receive(client, cuts, 'server'), SAMPLE_CLIENT.length);
      }),
      { numRuns: 200 },
    );
  });

  it('rejects a 4 GiB length header without allocating for it', () => {
    const before = process.memoryUsage().arrayBuffers;
    const decoders: FrameDecoder[] = [];
    for (let i = 0; i < 100; i++) {
      const d = new FrameDecoder();
      decoders.push(d);
      assert.throws(
        () => d.push(Buffer.from([0xff, 0xff, 0xff, 0xfe, 1, 2, 3])),
        (e) => e instanceof FerryError && e.code === 'PROTOCOL',
      );
      assert.equal(d.buffered, 0);
    }
    // A header just under the default limit, with only a little data behind it: held bytes track
    // what arrived, not what was announced.
    const big = new FrameDecoder();
    const header = Buffer.alloc(4);
    header.writeUInt32BE(64 * 1024 * 1024 - 1, 0);
    assert.deepEqual(big.push(Buffer.concat([header, Buffer.alloc(1000)])), []);
    assert.equal(big.buffered, 1000);
    const grown = process.memoryUsage().arrayBuffers - before;
    assert.ok(grown < 8 * 1024 * 1024, `arrayBuffers grew by ${grown} bytes`);
    assert.equal(decoders.length, 100);
  });
});

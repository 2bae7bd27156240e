import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, it } from 'node:test';
import { FerryError } from '../../src/core/errors.ts';
import { checkPlain, decode, encode } from '../../src/protocol/codec.ts';
import { encodeFrame, FrameDecoder } from '../../src/protocol/frame.ts';
import { checkHello, makeHello } from '../../src/protocol/handshake.ts';
import { PROTOCOL_VERSION } from '../../src/protocol/messages.ts';
import { clientMessage, hello, serverMessage } from '../../src/protocol/validate.ts';
import { clientToWire, serverToWire } from '../../src/protocol/wire.ts';
import { hashToWire } from '../../src/protocol/wire-entry.ts';
import { SAMPLE_CLIENT, SAMPLE_SERVER } from './protocol-samples.ts';

const H = 'b'.repeat(64);
const protocolError = (text?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof FerryError, `expected FerryError, got ${String(e)}`);
  assert.equal(e.code, 'PROTOCOL');
  if (text) assert.match(e.message, text);
  return true;
};

describe('FrameDecoder', () => {
  it('yields payloads whole, split byte by byte, and several per chunk', () => {
    const a = encodeFrame(Buffer.from('hello'));
    const b = encodeFrame(Buffer.alloc(0));
    const c = encodeFrame(Buffer.from('world!'));
    const all = Buffer.concat([a, b, c]);
    assert.deepEqual(new FrameDecoder().push(all).map(String), ['hello', '', 'world!']);
    const d = new FrameDecoder();
    const got: string[] = [];
    for (const byte of all) got.push(...d.push(Buffer.from([byte])).map(String));
    assert.deepEqual(got, ['hello', '', 'world!']);
    assert.equal(d.buffered, 0);
  });

  it('rejects an oversized length from the header alone, then stays failed', () => {
    const d = new FrameDecoder();
    assert.throws(
      () => d.push(Buffer.from([0xff, 0xff, 0xff, 0xff])),
      protocolError(/4294967295-byte message/),
    );
    assert.throws(() => d.push(encodeFrame(Buffer.from('x'))), protocolError());
    const small = new FrameDecoder({ maxFrame: 10 });
    assert.deepEqual(small.push(encodeFrame(Buffer.alloc(10, 1))).length, 1);
    assert.throws(() => small.push(Buffer.from([0, 0, 0, 11])), protocolError(/above the 10-byte limit/));
  });

  it('never holds more than maxFrame + 4 bytes', () => {
    const d = new FrameDecoder({ maxFrame: 100 });
    const frame = encodeFrame(Buffer.alloc(100, 7), { maxFrame: 100 });
    let max = 0;
    for (let i = 0; i < 3; i++) {
      for (let off = 0; off < frame.length; off += 13) {
        d.push(frame.subarray(off, off + 13));
        max = Math.max(max, d.buffered);
      }
    }
    assert.ok(max <= 104, `held ${max}`);
    assert.throws(() => encodeFrame(Buffer.alloc(101), { maxFrame: 100 }), protocolError(/frame limit/));
  });
});

describe('codec', () => {
  it('round-trips plain data with binary payloads as bytes', () => {
    const v = { a: [1, -2, 2 ** 40, 1.5, null, true, 'ü'], b: new Uint8Array([0, 255, 9]), c: {} };
    const out = decode(encode(v)) as { b: Uint8Array };
    assert.ok(out.b instanceof Uint8Array);
    assert.deepEqual(Array.from(out.b), [0, 255, 9]);
    assert.deepEqual({ ...(out as object), b: null }, { ...v, b: null });
  });

  it('refuses extension types, records and reserved bytes a peer could use to build objects', () => {
    const cases: Record<string, number[]> = {
      'date (timestamp ext)': [0xd6, 0xff, 0, 0, 0, 1],
      'set ext': [0xd4, 0x73, 0x90],
      'record definition': [0xd4, 0x72, 0x00, 0x91, 0xa1, 0x61],
      'bigint ext': [0xc7, 0x01, 0x42, 0x05],
      'error ext': [0xd4, 0x65, 0x00],
      'regexp ext': [0xd4, 0x78, 0x00],
      'reserved 0xc1': [0xc1],
    };
    for (const [name, bytes] of Object.entries(cases)) {
      assert.throws(() => decode(Buffer.from(bytes)), protocolError(/malformed message/), name);
    }
  });

  it('refuses lying counts, deep nesting, non-string keys, truncation and trailing bytes', () => {
    assert.throws(() => decode(Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff])), protocolError(/container/));
    assert.throws(() => decode(Buffer.from([0xdc, 0x00, 0x05, 0x01])), protocolError(/exceeds the data/));
    assert.throws(() => decode(Buffer.alloc(100_000, 0x91)), protocolError(/nesting deeper/));
    assert.throws(() => decode(Buffer.from([0x81, 0x01, 0x02])), protocolError(/map key/));
    assert.throws(() => decode(Buffer.from([0xa5, 0x61])), protocolError(/truncated/));
    assert.throws(() => decode(Buffer.from([0xc0, 0xc0])), protocolError(/trailing/));
    assert.doesNotThrow(() => checkPlain(encode({ x: [[[{}]]] })));
  });

  it('packs a message with large binaries into a buffer of its own, sized for it', () => {
    // A 16 MiB write window used to pin a 32 MiB buffer shared with the messages around it.
    const pieces = Array.from({ length: 64 }, (_, i) => ({
      kind: 'data',
      data: new Uint8Array(64 * 1024).fill(i),
    }));
    const before = encode({ type: 'keepalive' });
    const big = encode({ type: 'req', id: 7, method: 'appendWrite', path: 'dir/é.bin', pieces });
    const after = encode({ type: 'keepalive' });
    assert.ok(big.buffer.byteLength < big.length + 128 * 1024, `${big.buffer.byteLength} for ${big.length}`);
    assert.notEqual(before.buffer, big.buffer);
    assert.notEqual(after.buffer, big.buffer);
    const out = decode(big) as { path: string; pieces: { data: Uint8Array }[] };
    assert.equal(out.path, 'dir/é.bin');
    assert.equal(out.pieces.length, 64);
    assert.ok(out.pieces.every((p, i) => p.data.length === 64 * 1024 && p.data.every((b) => b === i)));
    assert.deepEqual(decode(after), { type: 'keepalive' });
    assert.deepEqual(decode(before), { type: 'keepalive' });
  });

  it('does not let a __proto__ key reach a prototype', () => {
    const raw = Buffer.from([0x81, 0xa9, ...Buffer.from('__proto__'), 0x81, 0xa1, 0x70, 0x01]);
    const v = decode(raw) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.equal(({} as Record<string, unknown>).p, undefined);
  });
});

describe('validate', () => {
  it('accepts every sample message and rebuilds it without unknown fields', () => {
    for (const m of SAMPLE_CLIENT) assert.deepEqual(clientMessage(decode(encode(clientToWire(m)))), m);
    for (const m of SAMPLE_SERVER) assert.deepEqual(serverMessage(decode(encode(serverToWire(m)))), m);
    const extra = clientMessage({ type: 'req', id: 1, method: 'close', sneaky: { a: 1 } });
    assert.deepEqual(extra, { type: 'req', id: 1, method: 'close' });
  });

  const apply = (op: unknown) => clientMessage({ type: 'req', id: 3, method: 'apply', ops: [op] });
  const dir = (path: string, vv: unknown = { r1: 1 }) => ({ kind: 'dir', path, vv });
  const mkdir = (e: unknown) => ({ op: 'mkdir', path: 'd', entry: e, expect: { kind: 'absent' } });

  it('rejects hostile paths everywhere', () => {
    for (const p of [
      '../x',
      'a/../b',
      '/etc/passwd',
      'a//b',
      '.ferry/index',
      'nested/.ferry/id',
      'a\0b',
      '',
      'x/'.repeat(3000),
    ]) {
      assert.throws(() => apply(mkdir(dir(p))), protocolError(/ops\[0\]\.entry\.path/), p);
    }
    assert.throws(
      () =>
        serverMessage({
          type: 'res',
          id: 1,
          method: 'finishWrite',
          ok: true,
          result: { ok: true, path: '../x', bytesWritten: 1 },
        }),
      protocolError(/finishWrite result\.path/),
    );
    assert.throws(
      () => clientMessage({ type: 'req', id: 1, method: 'finishWrite', path: 5 }),
      protocolError(),
    );
  });

  it('accepts exactly the kept-partial shape as a source path inside .ferry', () => {
    const append = (path: string) =>
      clientMessage({
        type: 'req',
        id: 1,
        method: 'appendWrite',
        path: 'big',
        pieces: [{ kind: 'local', path, offset: 0, length: 1 }],
      });
    assert.doesNotThrow(() => append(`.ferry/partial/${H}`));
    for (const p of [
      '.ferry/partial/abc',
      `.ferry/partial/${H}/x`,
      `.ferry/partial/${H.toUpperCase()}`,
      `.ferry/partial/../${H}`,
      `.ferry/tmp/${H}`,
      '.ferry/index',
    ]) {
      assert.throws(() => append(p), protocolError(/pieces\[0\]\.path/), p);
    }
    const scan = (partials: unknown) =>
      serverMessage({
        type: 'res',
        id: 1,
        method: 'scan',
        ok: true,
        result: { entries: [], stats: [], problems: [], unseen: [], hashedBytes: 0, partials },
      });
    assert.throws(() => scan([{ hash: H, size: 1 }]), protocolError(/partials\[0\]\.hash/));
    assert.throws(() => scan([{ hash: hashToWire(H), size: -1 }]), protocolError(/partials\[0\]\.size/));
    assert.throws(
      () => scan(Array.from({ length: 1025 }, () => ({ hash: hashToWire(H), size: 1 }))),
      protocolError(/partials/),
    );
  });

  it('checks version vectors, numbers, hashes and kinds', () => {
    assert.throws(() => apply(mkdir(dir('d', { R1: 1 }))), protocolError(/vv key/));
    assert.throws(() => apply(mkdir(dir('d', { constructor: 1 }))), protocolError(/vv key/));
    assert.throws(() => apply(mkdir(dir('d', { r1: -1 }))), protocolError(/vv\.r1/));
    assert.throws(() => apply(mkdir(dir('d', { r1: 1.5 }))), protocolError(/vv\.r1/));
    assert.throws(() => apply(mkdir(dir('d', { r1: 2 ** 53 }))), protocolError(/vv\.r1/));
    assert.throws(() => apply(mkdir({ ...dir('d'), kind: 'file' })), protocolError());
    assert.throws(() => apply(mkdir({ ...dir('d'), kind: 'fifo' })), protocolError(/unknown entry kind/));
    const f = { kind: 'file', path: 'f', vv: {}, size: 4, mtime: 1, exec: false, hash: hashToWire(H) };
    const write = (e: unknown) =>
      apply({ op: 'write', path: 'f', entry: e, expect: { kind: 'absent' }, pieces: [] });
    assert.doesNotThrow(() => write(f));
    assert.throws(
      () => write({ ...f, hash: H }),
      protocolError(/hash from peer: expected a SHA-256 as 32 bytes/),
    );
    assert.throws(() => write({ ...f, hash: hashToWire(H).subarray(1) }), protocolError(/hash/));
    assert.throws(() => write({ ...f, size: Number.NaN }), protocolError(/size/));
    assert.throws(() => write({ ...f, mtime: Number.POSITIVE_INFINITY }), protocolError(/mtime/));
    assert.throws(() => write({ ...f, exec: 'yes' }), protocolError(/exec/));
    assert.throws(() => write(Object.assign(Object.create({ evil: 1 }), f)), protocolError(/expected a map/));
  });

  it('allows absolute and .. symlink targets but not NUL or overlong ones', () => {
    const link = (target: string) =>
      apply({
        op: 'symlink',
        path: 'l',
        entry: { kind: 'symlink', path: 'l', vv: {}, target },
        expect: { kind: 'absent' },
      });
    assert.doesNotThrow(() => link('/etc/hosts'));
    assert.doesNotThrow(() => link('../../x'));
    assert.throws(() => link('a\0b'), protocolError(/NUL/));
    assert.throws(() => link('x'.repeat(4097)), protocolError(/4096 bytes/));
  });

  it('bounds counts and sizes', () => {
    const rec = { op: 'record', path: 'x', entry: dir('x') };
    assert.throws(
      () => clientMessage({ type: 'req', id: 1, method: 'apply', ops: new Array(65_537).fill(rec) }),
      protocolError(/65536/),
    );
    const piece = { kind: 'data', data: new Uint8Array(16 * 1024 * 1024 + 1) };
    assert.throws(
      () => clientMessage({ type: 'req', id: 1, method: 'appendWrite', path: 'x', pieces: [piece] }),
      protocolError(/16777216/),
    );
    const scan = { entries: [dir('a')], stats: [], problems: [], unseen: [], hashedBytes: 0 };
    assert.throws(
      () => serverMessage({ type: 'res', id: 1, method: 'scan', ok: true, result: scan }),
      protocolError(/0 stats for 1 entries/),
    );
    assert.throws(
      () =>
        serverMessage({
          type: 'res',
          id: 1,
          method: 'close',
          ok: false,
          error: { code: 'EVIL', message: 'x' },
        }),
      protocolError(/error code/),
    );
    assert.throws(
      () => clientMessage({ type: 'req', id: -1, method: 'close' }),
      protocolError(/request\.id/),
    );
    assert.throws(
      () => clientMessage({ type: 'req', id: 1, method: 'toString' }),
      protocolError(/unknown method/),
    );
  });
});

describe('handshake', () => {
  it('accepts the same version and names both versions on a mismatch', () => {
    assert.equal(checkHello(hello(makeHello('ferry 0.1.0')), { peer: 'the agent at h:/p' }), undefined);
    const err = checkHello(hello({ type: 'hello', protocol: 'ferry', version: 9, software: 'ferry 9.0.0' }), {
      peer: 'the agent at h:/p',
    });
    assert.ok(err instanceof FerryError);
    assert.equal(err.code, 'PROTOCOL');
    assert.match(
      err.message,
      new RegExp(`this ferry speaks version ${PROTOCOL_VERSION}, the agent at h:/p speaks version 9`),
    );
    assert.match(err.message, /install the same ferry version on both sides/);
  });

  it('refuses a peer that is not ferry', () => {
    assert.throws(
      () => hello({ type: 'hello', protocol: 'rsync', version: 1 }),
      protocolError(/does not speak the ferry protocol/),
    );
    assert.throws(() => hello({ type: 'req', id: 1, method: 'close' }), protocolError(/not a hello/));
  });
});

import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { RemoteReplica } from '../../src/adapters/remote/rpc-client.ts';
import { serveReplica } from '../../src/adapters/remote/rpc-server.ts';
import type { Entry, FileEntry } from '../../src/core/entry.ts';
import { FerryError } from '../../src/core/errors.ts';
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
} from '../../src/ports/replica.ts';
import { decode, encode } from '../../src/protocol/codec.ts';
import { encodeFrame, FrameDecoder } from '../../src/protocol/frame.ts';
import { makeHello } from '../../src/protocol/handshake.ts';
import { PROTOCOL_VERSION } from '../../src/protocol/messages.ts';

const H = 'a'.repeat(64);
const file = (path: string, size = 3): FileEntry => ({
  kind: 'file',
  path,
  vv: { r1: 2 },
  size,
  mtime: 1700000000123.5,
  exec: false,
  hash: H,
});

/** A ReplicaPort that answers from data and logs every call in order. */
class FakePort implements ReplicaPort {
  readonly label = 'fake';
  readonly log: string[] = [];
  readonly written = new Map<string, Uint8Array[]>();
  readonly recycled: Uint8Array[] = [];
  scanEntries: Entry[] = [file('a.txt'), { kind: 'dir', path: 'd', vv: { r1: 1 } }];
  closed = 0;
  async open(opts: OpenOptions): Promise<OpenInfo> {
    this.log.push(`open ${opts.create}`);
    return {
      replicaId: 'r1',
      exists: true,
      fresh: false,
      lastSync: undefined,
      peers: { r2: { label: 'b', lastSync: 5 } },
      singleFile: false,
    };
  }
  async readIgnoreFile(): Promise<string | undefined> {
    this.log.push('readIgnoreFile');
    return '*.tmp\n';
  }
  async scan(opts: ScanOptions): Promise<ScanResult> {
    this.log.push(`scan ${opts.ignore.join(',')}`);
    const stats = this.scanEntries.map((_, i) => ({ size: i, mtime: 1.5, ctime: 2.5, ino: 1000 + i }));
    return {
      entries: this.scanEntries,
      stats,
      problems: [{ path: 'x', code: 'unreadable', message: 'EACCES' }],
      unseen: ['x'],
      hashedBytes: 3,
    };
  }
  async read(reqs: readonly ReadRequest[]): Promise<ReadReply[]> {
    this.log.push(`read ${reqs.map((r) => r.path).join(',')}`);
    return reqs.map((r) =>
      r.path === 'missing'
        ? { ok: false, problem: { path: r.path, code: 'unreadable', message: 'gone' } }
        : { ok: true, data: Uint8Array.from({ length: r.length }, (_, i) => (i + r.offset) & 255) },
    );
  }
  recycle(data: readonly Uint8Array[]): void {
    this.recycled.push(...data);
  }
  /** Full hashes, as a replica in its own process has them; a chunk per 100 bytes of `size:N` paths. */
  async chunkLists(reqs: readonly ChunkListRequest[]): Promise<ChunkListReply[]> {
    this.log.push(`chunkLists ${reqs.map((r) => r.path).join(',')}`);
    return reqs.map((r) =>
      r.path === 'missing'
        ? { ok: false, problem: { path: r.path, code: 'changed-during-sync', message: 'other content' } }
        : {
            ok: true,
            chunks: Array.from({ length: Number(r.path.split(':')[1] ?? 2) }, (_, i) => ({
              size: 100 + i,
              hash: `${(i & 15).toString(16)}${r.hash.slice(1)}`,
            })),
          },
    );
  }
  async apply(ops: readonly ApplyOp[]): Promise<ApplyReply[]> {
    this.log.push(`apply ${ops.map((o) => `${o.op}:${o.path}`).join(',')}`);
    return ops.map((o) => ({ ok: true, path: o.path, bytesWritten: o.op === 'write' ? o.entry.size : 0 }));
  }
  async beginWrite(op: WriteOp): Promise<void> {
    this.log.push(`begin ${op.path}`);
    this.written.set(op.path, []);
  }
  async appendWrite(path: string, pieces: readonly Piece[]): Promise<void> {
    this.log.push(`append ${path}`);
    for (const p of pieces) if (p.kind === 'data') this.written.get(path)?.push(p.data);
  }
  async finishWrite(path: string): Promise<ApplyReply> {
    this.log.push(`finishWrite ${path}`);
    if (path === 'bad') throw new FerryError('LOCKED', 'root is locked', { hint: 'wait' });
    return { ok: true, path, bytesWritten: 7 };
  }
  async finish(opts: FinishOptions): Promise<void> {
    this.log.push(`finish ${opts.now}`);
  }
  async close(): Promise<void> {
    this.closed++;
  }
}

function pair(opts: { maxFrame?: number; serverVersion?: number; hwm?: number } = {}) {
  const hwm = opts.hwm === undefined ? {} : { highWaterMark: opts.hwm };
  const c2s = new PassThrough(hwm);
  const s2c = new PassThrough(hwm);
  const port = new FakePort();
  const mf = opts.maxFrame === undefined ? {} : { maxFrame: opts.maxFrame };
  const served = serveReplica(
    port,
    { input: c2s, output: s2c },
    {
      ...mf,
      ...(opts.serverVersion === undefined ? {} : { protocolVersion: opts.serverVersion }),
    },
  );
  const client = new RemoteReplica({ input: s2c, output: c2s }, { label: 'host:/data', ...mf });
  return { port, client, served, c2s, s2c };
}

/** A scripted agent: sends hello, then answers each request with whatever `answer` returns. */
function hostile(answer: (req: { id: number; method: string }) => Buffer | undefined, keepaliveMs?: number) {
  const c2s = new PassThrough();
  const s2c = new PassThrough();
  const frames = new FrameDecoder();
  s2c.write(encodeFrame(encode(makeHello('evil'))));
  c2s.on('data', (chunk: Buffer) => {
    for (const p of frames.push(chunk)) {
      const m = decode(p) as { type: string; id: number; method: string };
      if (m.type !== 'req') continue;
      const out = answer(m);
      if (out) s2c.write(out);
    }
  });
  const ka = keepaliveMs === undefined ? {} : { keepaliveMs };
  return { client: new RemoteReplica({ input: s2c, output: c2s }, { label: 'evil:/x', ...ka }), s2c };
}

const isCode = (code: string, text?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof FerryError, `expected FerryError, got ${String(e)}`);
  assert.equal(e.code, code);
  if (text) assert.match(e.message, text);
  return true;
};

describe('rpc over a duplex stream', () => {
  it('round-trips every ReplicaPort method', async () => {
    const { client, port, served } = pair();
    const info = await client.open({ create: true, readOnly: false });
    assert.deepEqual(info, {
      replicaId: 'r1',
      exists: true,
      fresh: false,
      lastSync: undefined,
      peers: { r2: { label: 'b', lastSync: 5 } },
      singleFile: false,
    });
    assert.equal(await client.readIgnoreFile(), '*.tmp\n');
    const scan = await client.scan({ ignore: ['*.o'], dryRun: false });
    assert.deepEqual(scan.entries, port.scanEntries);
    assert.deepEqual(scan.stats[1], { size: 1, mtime: 1.5, ctime: 2.5, ino: 1001 });
    assert.deepEqual(scan.problems, [{ path: 'x', code: 'unreadable', message: 'EACCES' }]);
    assert.deepEqual(scan.unseen, ['x']);
    const reads = await client.read([
      { path: 'a.txt', offset: 10, length: 4, hash: H },
      { path: 'missing', offset: 0, length: 1, hash: H },
    ]);
    assert.deepEqual(reads[0], { ok: true, data: new Uint8Array([10, 11, 12, 13]) });
    assert.deepEqual(reads[1], {
      ok: false,
      problem: { path: 'missing', code: 'unreadable', message: 'gone' },
    });
    // Fine chunk lists travel as 4-byte hash prefixes (protocol/wire-fine.ts).
    assert.deepEqual(
      await client.chunkLists([
        { path: 'a.txt', hash: H },
        { path: 'missing', hash: H },
      ]),
      [
        {
          ok: true,
          chunks: [
            { size: 100, hash: `0${H.slice(1, 8)}` },
            { size: 101, hash: `1${H.slice(1, 8)}` },
          ],
        },
        {
          ok: false,
          problem: { path: 'missing', code: 'changed-during-sync', message: 'other content' },
        },
      ],
    );
    const w: WriteOp = {
      op: 'write',
      path: 'big',
      entry: file('big', 6),
      expect: { kind: 'absent' },
      pieces: [],
    };
    const replies = await client.apply([
      {
        op: 'mkdir',
        path: 'd2',
        entry: { kind: 'dir', path: 'd2', vv: { r1: 1 } },
        expect: { kind: 'absent' },
      },
      { ...w, path: 'small' },
      {
        op: 'rename',
        path: 'a.txt',
        to: 'b.txt',
        entry: file('a.txt'),
        expect: { kind: 'entry', stat: null, entry: file('a.txt') },
      },
    ]);
    assert.deepEqual(
      replies.map((r) => r.ok && r.bytesWritten),
      [0, 6, 0],
    );
    await client.beginWrite(w);
    await client.appendWrite('big', [
      { kind: 'data', data: new Uint8Array([1, 2, 3]) },
      { kind: 'local', path: 'a.txt', offset: 0, length: 3, hash: H },
    ]);
    await client.appendWrite('big', [{ kind: 'data', data: new Uint8Array([4, 5, 6]) }]);
    assert.deepEqual(await client.finishWrite('big'), { ok: true, path: 'big', bytesWritten: 7 });
    await assert.rejects(
      client.finishWrite('bad'),
      (e) => isCode('LOCKED', /root is locked/)(e) && (e as FerryError).hint === 'wait',
    );
    await client.finish({ dryRun: false, now: 42, peers: { r1: 'a', r2: 'b' } });
    await client.close();
    await client.close();
    await served;
    assert.ok(port.closed >= 1);
    assert.deepEqual(port.written.get('big'), [new Uint8Array([1, 2, 3]), new Uint8Array([4, 5, 6])]);
    assert.deepEqual(port.log.slice(0, 5), [
      'open true',
      'readIgnoreFile',
      'scan *.o',
      'read a.txt,missing',
      'chunkLists a.txt,missing',
    ]);
  });

  it('pipelines many concurrent calls, answers each with its own result, in order', async () => {
    const { client, port } = pair();
    await client.ready();
    const calls = Array.from({ length: 300 }, (_, i) =>
      i % 3 === 0
        ? client.read([{ path: `f${i}`, offset: i, length: 2, hash: H }])
        : client.apply([
            { op: 'record', path: `f${i}`, entry: { kind: 'tombstone', path: `f${i}`, vv: { r1: i } } },
          ]),
    );
    const out = await Promise.all(calls);
    out.forEach((r, i) => {
      if (i % 3 === 0) assert.deepEqual(r, [{ ok: true, data: new Uint8Array([i & 255, (i + 1) & 255]) }]);
      else assert.deepEqual(r, [{ ok: true, path: `f${i}`, bytesWritten: 0 }]);
    });
    assert.deepEqual(
      port.log,
      calls.map((_, i) => (i % 3 === 0 ? `read f${i}` : `apply record:f${i}`)),
    );
    await client.close();
  });

  it('carries large data intact through small stream buffers (backpressure)', async () => {
    const { client } = pair({ hwm: 1024 });
    const [r] = await client.read([{ path: 'big', offset: 0, length: 3_000_000, hash: H }]);
    assert.ok(r?.ok);
    assert.equal(r.data.length, 3_000_000);
    assert.ok(r.data.every((b, i) => b === (i & 255)));
    await client.close();
  });

  it('hands the bytes of a served read back to the replica once the reply is sent', async () => {
    const { client, port } = pair();
    const replies = await client.read([
      { path: 'a', offset: 0, length: 10 },
      { path: 'missing', offset: 0, length: 5 },
      { path: 'b', offset: 3, length: 7 },
    ]);
    assert.deepEqual(
      replies.map((r) => (r.ok ? r.data.length : r.problem.code)),
      [10, 'unreadable', 7],
    );
    assert.deepEqual(
      port.recycled.map((d) => d.length),
      [10, 7],
      'the two ok replies, after sending',
    );
    await client.close();
  });

  it('splits results larger than a frame into parts and reassembles them', async () => {
    const { client, port } = pair({ maxFrame: 4096 });
    port.scanEntries = Array.from({ length: 500 }, (_, i) => file(`dir/file-${i}`));
    const scan = await client.scan({ ignore: [], dryRun: true });
    assert.deepEqual(scan.entries, port.scanEntries);
    assert.equal(scan.stats.length, 500);
    assert.deepEqual(scan.stats[499], { size: 499, mtime: 1.5, ctime: 2.5, ino: 1499 });
    const reads = await client.read(
      Array.from({ length: 40 }, (_, i) => ({ path: `p${i}`, offset: 0, length: 1000, hash: H })),
    );
    assert.equal(reads.length, 40);
    const lists = await client.chunkLists(
      Array.from({ length: 30 }, (_, i) => ({ path: `f${i}:300`, hash: H })),
    );
    assert.equal(lists.length, 30);
    assert.ok(lists.every((l) => l.ok && l.chunks.length === 300 && l.chunks[299]?.size === 399));
    await client.close();
  });

  it('rejects pending calls with TRANSPORT when the agent goes away mid-call', async () => {
    const c2s = new PassThrough();
    const s2c = new PassThrough();
    const client = new RemoteReplica({ input: s2c, output: c2s }, { label: 'gone:/x' });
    s2c.write(encodeFrame(encode(makeHello('ferry'))));
    c2s.on('data', () => s2c.end()); // the first request makes the "agent" hang up
    const a = client.scan({ ignore: [], dryRun: false });
    const b = client.readIgnoreFile();
    await assert.rejects(a, isCode('TRANSPORT', /lost the connection to gone:\/x/));
    await assert.rejects(b, isCode('TRANSPORT', /lost the connection to gone:\/x/));
    await assert.rejects(client.open({ create: false, readOnly: true }), isCode('TRANSPORT'));
    await client.close();
  });

  it('fails stalled calls after keepaliveMs without data', async () => {
    const { client } = hostile(() => undefined, 200);
    await assert.rejects(
      client.scan({ ignore: [], dryRun: false }),
      isCode('TRANSPORT', /lost the connection to evil:\/x: no data for 0.2 s/),
    );
  });

  it('reports a protocol version mismatch naming both versions', async () => {
    const { client, served } = pair({ serverVersion: 7 });
    await assert.rejects(
      client.open({ create: false, readOnly: false }),
      isCode(
        'PROTOCOL',
        new RegExp(`this ferry speaks version ${PROTOCOL_VERSION}, the agent at host:/data speaks version 7`),
      ),
    );
    await assert.rejects(
      served,
      isCode(
        'PROTOCOL',
        new RegExp(`this ferry speaks version 7, the client speaks version ${PROTOCOL_VERSION}`),
      ),
    );
  });

  it('rejects a response with a ../ path as PROTOCOL', async () => {
    const { client } = hostile((req) =>
      encodeFrame(
        encode({
          type: 'res',
          id: req.id,
          method: req.method,
          ok: true,
          result: {
            entries: [{ kind: 'dir', path: '../x', vv: {} }],
            stats: [null],
            problems: [],
            unseen: [],
            hashedBytes: 0,
          },
        }),
      ),
    );
    await assert.rejects(
      client.scan({ ignore: [], dryRun: false }),
      isCode('PROTOCOL', /scan result\.entries\[0\]\.path.*'\.\.'/),
    );
  });

  it('rejects a 4 GiB frame header as PROTOCOL', async () => {
    const { client } = hostile(() => Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    await assert.rejects(client.readIgnoreFile(), isCode('PROTOCOL', /4294967295-byte message/));
  });

  it('rejects a response to a request never sent', async () => {
    const { client } = hostile((req) =>
      encodeFrame(encode({ type: 'res', id: req.id + 100, method: req.method, ok: true, result: null })),
    );
    await assert.rejects(client.finish({ dryRun: true, now: 1, peers: {} }), isCode('PROTOCOL', /not sent/));
    // Once the link is poisoned, later calls fail the same way instead of hanging.
    await assert.rejects(client.readIgnoreFile(), isCode('PROTOCOL'));
    await client.close();
  });

  it('server answers invalid input with an error message, closes the port and the stream', async () => {
    const c2s = new PassThrough();
    const s2c = new PassThrough();
    const port = new FakePort();
    const served = serveReplica(port, { input: c2s, output: s2c });
    const got: unknown[] = [];
    const frames = new FrameDecoder();
    s2c.on('data', (c: Buffer) => {
      for (const p of frames.push(c)) got.push(decode(p));
    });
    const ended = new Promise((r) => s2c.on('end', r));
    c2s.write(encodeFrame(encode(makeHello('t'))));
    c2s.write(
      encodeFrame(encode({ type: 'req', id: 1, method: 'appendWrite', path: '/etc/passwd', pieces: [] })),
    );
    await assert.rejects(served, isCode('PROTOCOL', /appendWrite\.path from peer: absolute path/));
    await ended;
    assert.equal(port.closed, 1);
    assert.deepEqual(port.log, []);
    assert.deepEqual((got[1] as { type: string; error: { code: string } }).type, 'error');
    assert.deepEqual((got[1] as { error: { code: string } }).error.code, 'PROTOCOL');
  });

  it('server still answers requests read before the client half-closed, then closes the port', async () => {
    const c2s = new PassThrough();
    const s2c = new PassThrough();
    const port = new FakePort();
    const served = serveReplica(port, { input: c2s, output: s2c });
    const got: { type: string; id?: number; ok?: boolean }[] = [];
    const frames = new FrameDecoder();
    s2c.on('data', (c: Buffer) => {
      for (const p of frames.push(c)) got.push(decode(p) as { type: string });
    });
    const ended = new Promise((r) => s2c.on('end', r));
    c2s.write(encodeFrame(encode(makeHello('t'))));
    c2s.write(encodeFrame(encode({ type: 'req', id: 1, method: 'readIgnoreFile' })));
    c2s.end(
      encodeFrame(
        encode({ type: 'req', id: 2, method: 'finish', opts: { dryRun: true, now: 3, peers: {} } }),
      ),
    );
    await served;
    await ended;
    assert.deepEqual(port.log, ['readIgnoreFile', 'finish 3']);
    assert.equal(port.closed, 1);
    assert.deepEqual(
      got.filter((m) => m.type === 'res').map((m) => [m.id, m.ok]),
      [
        [1, true],
        [2, true],
      ],
    );
  });
});

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { crc32 as zlibCrc32 } from 'node:zlib';
import {
  crc32Portable,
  FrameScratch,
  framePayloads,
  scanFrames,
} from '../../src/adapters/index-store/frames.ts';
import { openLogIndexStore } from '../../src/adapters/index-store/log-store.ts';
import type { Entry } from '../../src/core/entry.ts';
import type { IndexChange, IndexRecord, ReplicaMeta } from '../../src/ports/index-store.ts';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'ferry-index-'));
  dirs.push(d);
  return join(d, '.ferry', 'index'); // not created yet: the store must create it
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const META: ReplicaMeta = {
  replicaId: 'r-alpha',
  createdAt: 1_700_000_000_000,
  lastSync: 1_700_000_100_000,
  peers: { 'r-beta': { label: 'host:/data', lastSync: 1_700_000_100_000 } },
};
const H = (c: string): string => c.repeat(64);

function fileRec(path: string, n: number): IndexRecord {
  return {
    entry: {
      kind: 'file',
      path,
      vv: { 'r-alpha': n, 'r-beta': 2 },
      size: n,
      mtime: 1.5 + n,
      exec: false,
      hash: H('a'),
    },
    stat: { size: n, mtime: 1.5 + n, ctime: 2.25 + n, ino: 1000 + n },
  };
}
const set = (path: string, n: number): IndexChange => ({ path, record: fileRec(path, n) });
const forget = (path: string): IndexChange => ({ path, record: null });

const ALL_KINDS: Entry[] = [
  {
    kind: 'file',
    path: 'big/movie.mkv',
    vv: { a: 3, b: 1 },
    size: 300,
    mtime: 1_700_000_000_123.456,
    exec: true,
    hash: H('b'),
    chunks: [
      { size: 100, hash: H('c') },
      { size: 200, hash: H('d') },
    ],
  },
  { kind: 'file', path: 'small.txt', vv: { a: 1 }, size: 0, mtime: 0, exec: false, hash: H('e') },
  { kind: 'dir', path: 'big', vv: { a: 1 } },
  { kind: 'symlink', path: 'link', vv: { b: 7 }, target: '../outside/ünïcode' },
  { kind: 'tombstone', path: 'gone', vv: { a: 2, b: 2, c: 1 } },
];

async function load(dir: string): Promise<{ meta: ReplicaMeta; records: Map<string, IndexRecord> }> {
  const s = openLogIndexStore(dir);
  try {
    const snap = await s.load();
    assert.ok(snap !== undefined, 'store should hold something');
    return { meta: snap.meta, records: new Map(snap.records) };
  } finally {
    await s.close();
  }
}

describe('log index store', () => {
  it('returns undefined when nothing was ever written', async () => {
    const s = openLogIndexStore(await tempDir());
    assert.equal(await s.load(), undefined);
    await s.close();
  });

  it('round-trips every entry kind, chunks and stat stamps, via log and via snapshot', async () => {
    const dir = await tempDir();
    const s = openLogIndexStore(dir);
    await s.writeMeta(META);
    const changes: IndexChange[] = ALL_KINDS.map((entry, i) => ({
      path: entry.path,
      record:
        entry.kind === 'tombstone'
          ? { entry }
          : { entry, stat: { size: i, mtime: 1_700_000_000_000.125, ctime: 3.5, ino: 2 ** 40 + i } },
    }));
    await s.append(changes);
    await s.close();
    const expected = new Map(changes.map((c) => [c.path, c.record as IndexRecord]));
    const fromLog = await load(dir);
    assert.deepEqual(fromLog.meta, META);
    assert.deepEqual(fromLog.records, expected);

    const s2 = openLogIndexStore(dir);
    await s2.compact({ meta: { ...META, peers: {} }, records: expected });
    await s2.close();
    const fromSnap = await load(dir);
    assert.deepEqual(fromSnap.meta, { ...META, peers: {} });
    assert.deepEqual(fromSnap.records, expected);
    assert.equal((await stat(join(dir, 'log.bin'))).size > 0, true);
  });

  it('keeps a settled token only while no change follows the metadata that carries it', async () => {
    const dir = await tempDir();
    const s = openLogIndexStore(dir);
    await s.writeMeta(META);
    await s.append([set('a', 1)]);
    await s.writeMeta({ ...META, settled: 'tok.1' });
    await s.close();
    assert.equal((await load(dir)).meta.settled, 'tok.1', 'nothing after the meta: token holds');

    const s2 = openLogIndexStore(dir);
    await s2.load();
    await s2.append([set('b', 2)]);
    await s2.close();
    const after = await load(dir);
    assert.equal(after.meta.settled, undefined, 'a change after the meta drops the token');
    assert.equal(after.meta.replicaId, META.replicaId);

    const s3 = openLogIndexStore(dir);
    const snap = await s3.load();
    await s3.compact({ meta: { ...META, settled: 'tok.2' }, records: new Map(snap?.records) });
    await s3.close();
    assert.equal((await load(dir)).meta.settled, 'tok.2', 'a snapshot carries its own token');

    const s4 = openLogIndexStore(dir);
    await s4.load();
    await s4.append([forget('a')]);
    await s4.close();
    assert.equal((await load(dir)).meta.settled, undefined, 'a change after a snapshot drops it too');
  });

  it('hints come back until a change for their path follows; a snapshot drops them', async () => {
    const dir = await tempDir();
    const s = openLogIndexStore(dir);
    await s.writeMeta({ ...META, settled: 'tok.1' });
    await s.appendHints([set('a', 2), set('b', 2)]);
    await s.append([set('a', 2)]);
    await s.close();
    const s2 = openLogIndexStore(dir);
    const snap = await s2.load();
    assert.deepEqual([...(snap?.hints?.keys() ?? [])], ['b'], 'a is recorded: only b is still a hint');
    assert.equal(snap?.records.has('b'), false, 'a hint is never a record');
    assert.equal(snap?.meta.settled, undefined, 'an apply was under way: no settled state');
    await s2.compact({ meta: META, records: new Map(snap?.records) });
    await s2.close();
    const s3 = openLogIndexStore(dir);
    assert.equal((await s3.load())?.hints, undefined);
    await s3.close();
  });

  it('keeps the vector key and the generations, in the log and in a snapshot', async () => {
    const dir = await tempDir();
    const meta = { ...META, vvKey: 'k9', gen: 7, knownGens: { [META.replicaId]: 7, other: 3 } };
    const s = openLogIndexStore(dir);
    await s.writeMeta(meta);
    await s.close();
    assert.deepEqual((await load(dir)).meta, meta);
    const s2 = openLogIndexStore(dir);
    await s2.load();
    await s2.compact({ meta: { ...meta, gen: 8 }, records: new Map() });
    await s2.close();
    assert.deepEqual((await load(dir)).meta, { ...meta, gen: 8 });
  });

  it('round-trips many distinct version-vector shapes in one frame (msgpackr record structures)', async () => {
    const dir = await tempDir();
    const records = new Map<string, IndexRecord>();
    for (let i = 0; i < 5000; i++) {
      const vv: Record<string, number> = {};
      for (let k = 0; k < 12; k++) if ((i >> k) & 1) vv[`replica-${k}`] = i + k;
      const path = `p/${i}`;
      records.set(path, i % 3 === 0 ? { entry: { kind: 'dir', path, vv } } : fileRec(path, i));
    }
    const s = openLogIndexStore(dir);
    await s.writeMeta(META);
    await s.append([...records].map(([path, record]) => ({ path, record })));
    await s.close();
    assert.deepEqual((await load(dir)).records, records);
    const s2 = openLogIndexStore(dir);
    await s2.compact({ meta: META, records });
    await s2.close();
    assert.deepEqual((await load(dir)).records, records);
  });

  it('portable CRC matches zlib and frames reject zero-filled tails', () => {
    const data = Buffer.from('ferry index frame');
    assert.equal(crc32Portable(data), zlibCrc32(data));
    assert.equal(crc32Portable(data, 12345), zlibCrc32(data, 12345));
    const framed = framePayloads([data, data]);
    const scan = scanFrames(Buffer.concat([framed, Buffer.alloc(64)]));
    assert.equal(scan.payloads.length, 2);
    assert.equal(scan.validEnd, framed.length);
    assert.equal(scan.damaged, true);
  });

  it('a reused frame buffer frames each payload exactly as framePayloads does, growing as needed', () => {
    const scratch = new FrameScratch();
    const sizes = [1, 100, 70_000, 3, 300_000, 10];
    for (const [i, n] of sizes.entries()) {
      const payload = Buffer.alloc(n, i + 1);
      assert.deepEqual(Buffer.from(scratch.frame(payload)), framePayloads([payload]));
    }
    assert.throws(() => scratch.frame(new Uint8Array(0)), RangeError);
  });

  it('two stores appending at the same time each load back exactly their own changes', async () => {
    // Both share one encoder whose buffer a frame reuses once written (packTransient): frames of
    // one store must never carry bytes packed for the other.
    const roots = [await tempDir(), await tempDir()];
    const stores = roots.map((d) => openLogIndexStore(d));
    const wanted = roots.map((_, k) => {
      const m = new Map<string, IndexRecord>();
      for (let i = 0; i < 3000; i++) m.set(`s${k}/${i}`, fileRec(`s${k}/${i}`, i * (k + 2)));
      return m;
    });
    await Promise.all(
      stores.map(async (s, k) => {
        await s.writeMeta(META);
        const all = [...(wanted[k] ?? [])].map(([path, record]) => ({ path, record }));
        for (let i = 0; i < all.length; i += 700) await s.append(all.slice(i, i + 700));
        await s.compact({ meta: META, records: new Map(wanted[k]) });
        await s.append(all.slice(0, 600));
        await s.close();
      }),
    );
    for (const [k, d] of roots.entries()) assert.deepEqual((await load(d)).records, wanted[k]);
  });

  it('replays the log in order: later changes win, null forgets', async () => {
    const dir = await tempDir();
    const s = openLogIndexStore(dir);
    await s.writeMeta(META);
    await s.append([set('a', 1), set('b', 1), set('c', 1)]);
    await s.append([set('a', 2), forget('b')]);
    await s.writeMeta({ ...META, lastSync: 5 });
    await s.append([set('b', 3), forget('c'), forget('never-there')]);
    await s.close();
    const got = await load(dir);
    assert.equal(got.meta.lastSync, 5);
    assert.deepEqual(
      got.records,
      new Map([
        ['a', fileRec('a', 2)],
        ['b', fileRec('b', 3)],
      ]),
    );
  });

  it('ignores a torn last frame at every byte offset and keeps everything before it', async () => {
    const dir = await tempDir();
    const s = openLogIndexStore(dir);
    await s.writeMeta(META);
    await s.append([set('a', 1), set('b', 1)]);
    await s.close();
    const log = join(dir, 'log.bin');
    const goodSize = (await stat(log)).size;
    const s2 = openLogIndexStore(dir);
    await s2.append([set('a', 9), set('c', 9)]);
    await s2.close();
    const full = await readFile(log);
    const expected = new Map([
      ['a', fileRec('a', 1)],
      ['b', fileRec('b', 1)],
    ]);
    for (let cut = goodSize; cut < full.length; cut++) {
      await writeFile(log, full.subarray(0, cut));
      const got = await load(dir);
      assert.deepEqual(got.records, expected, `log cut at ${cut}`);
    }
    await writeFile(log, full);
    assert.equal((await load(dir)).records.get('c')?.entry.vv['r-alpha'], 9);
  });

  it('stops at a corrupt byte in the middle of the log, keeping the records before it', async () => {
    const dir = await tempDir();
    const s = openLogIndexStore(dir);
    await s.writeMeta(META);
    await s.append([set('a', 1)]);
    await s.close();
    const log = join(dir, 'log.bin');
    const firstEnd = (await stat(log)).size;
    const s2 = openLogIndexStore(dir);
    await s2.append([set('b', 1)]);
    await s2.append([set('c', 1)]);
    await s2.close();
    const buf = await readFile(log);
    buf[firstEnd + 12] = (buf[firstEnd + 12] as number) ^ 0x40; // inside the 'b' frame's payload
    await writeFile(log, buf);
    const s3 = openLogIndexStore(dir);
    const snap = await s3.load();
    assert.deepEqual(snap?.records, new Map([['a', fileRec('a', 1)]]));
    assert.ok(s3.ignoredLogBytes > 0);
    await s3.close();
  });

  for (const withLoad of [true, false]) {
    it(`truncates a torn tail before appending (${withLoad ? 'after' : 'without'} load)`, async () => {
      const dir = await tempDir();
      const s = openLogIndexStore(dir);
      await s.writeMeta(META);
      await s.append([set('a', 1)]);
      await s.append([set('b', 1)]);
      await s.close();
      const log = join(dir, 'log.bin');
      await truncate(log, (await stat(log)).size - 5);
      const s2 = openLogIndexStore(dir);
      if (withLoad) assert.equal((await s2.load())?.records.size, 1);
      await s2.append([set('c', 1)]);
      await s2.close();
      assert.deepEqual(
        (await load(dir)).records,
        new Map([
          ['a', fileRec('a', 1)],
          ['c', fileRec('c', 1)],
        ]),
      );
    });
  }

  it('compaction then reload equals the state, and later appends extend it', async () => {
    const dir = await tempDir();
    const s = openLogIndexStore(dir);
    await s.writeMeta(META);
    const many = Array.from({ length: 10_000 }, (_, i) => set(`dir${i % 17}/file-${i}.txt`, i));
    await s.append(many);
    await s.append([forget('dir0/file-0.txt')]);
    const state = await s.load();
    assert.ok(state !== undefined);
    assert.equal(state.records.size, 9_999);
    await s.compact(state);
    await s.append([set('new', 1)]);
    await s.close();
    const got = await load(dir);
    const expected = new Map(state.records);
    expected.set('new', fileRec('new', 1));
    assert.deepEqual(got.records, expected);
    assert.deepEqual(got.meta, META);
  });

  it('ignores a stale log when a crash hit compaction between the rename and the log reset', async () => {
    const dir = await tempDir();
    const s = openLogIndexStore(dir);
    await s.writeMeta(META);
    await s.append([set('a', 1), set('b', 1)]);
    await s.close();
    const log = join(dir, 'log.bin');
    await copyFile(log, `${log}.old`);
    const s2 = openLogIndexStore(dir);
    // The caller's snapshot drops 'b' (say it was pruned): replaying the old log would bring it back.
    await s2.compact({ meta: META, records: new Map([['a', fileRec('a', 1)]]) });
    await s2.close();
    await copyFile(`${log}.old`, log);
    assert.deepEqual((await load(dir)).records, new Map([['a', fileRec('a', 1)]]));
    const s3 = openLogIndexStore(dir);
    await s3.append([set('c', 1)]);
    await s3.close();
    assert.deepEqual([...(await load(dir)).records.keys()].sort(), ['a', 'c']);
  });

  it('refuses a corrupt snapshot with INDEX_CORRUPT naming the file', async () => {
    const dir = await tempDir();
    const s = openLogIndexStore(dir);
    await s.compact({ meta: META, records: new Map([['a', fileRec('a', 1)]]) });
    await s.close();
    const file = join(dir, 'snapshot.bin');
    const buf = await readFile(file);
    buf[buf.length - 3] = (buf[buf.length - 3] as number) ^ 1;
    await writeFile(file, buf);
    for (const op of ['load', 'append'] as const) {
      const s2 = openLogIndexStore(dir);
      await assert.rejects(
        op === 'load' ? s2.load() : s2.append([set('b', 1)]),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, 'INDEX_CORRUPT');
          assert.match(e.message, /snapshot\.bin/);
          assert.match(e.message, /move it away/);
          return true;
        },
      );
      await s2.close();
    }
    await writeFile(file, buf.subarray(0, buf.length - 20)); // truncated: end marker gone
    await assert.rejects(openLogIndexStore(dir).load(), { code: 'INDEX_CORRUPT' });
  });

  it('keeps every append a SIGKILLed writer reported as done', async () => {
    const dir = await tempDir();
    const script = join(dir, '..', '..', 'writer.mts');
    const storeModule = resolve('src/adapters/index-store/log-store.ts');
    await writeFile(
      script,
      `import { crc32 as zlibCrc32 } from 'node:zlib';
import { crc32Portable, framePayloads, scanFrames } from '../../src/adapters/index-store/frames.ts';
import { openLogIndexStore } from ${JSON.stringify(storeModule)};
const s = openLogIndexStore(${JSON.stringify(dir)});
await s.writeMeta({ replicaId: 'r', createdAt: 1, peers: {} });
for (let i = 0; ; i++) {
  const changes = [];
  for (let j = 0; j < 50; j++) {
    const path = 'p' + i + '/' + j;
    changes.push({ path, record: { entry: { kind: 'dir', path, vv: { r: i } } } });
  }
  await s.append(changes);
  process.stdout.write('appended ' + i + '\\n');
}
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<void>((res) => child.once('exit', () => res()));
    let lastDone = -1;
    for await (const line of createInterface({ input: child.stdout })) {
      const m = /^appended (\d+)$/.exec(line);
      assert.ok(m !== null, `unexpected output ${line}`);
      lastDone = Number(m[1]);
      if (lastDone >= 40) {
        child.kill('SIGKILL');
        break;
      }
    }
    await exited;
    assert.equal(child.signalCode, 'SIGKILL');
    const got = await load(dir);
    for (let i = 0; i <= lastDone; i++) {
      for (let j = 0; j < 50; j++) assert.ok(got.records.has(`p${i}/${j}`), `lost p${i}/${j}`);
    }
    // Whatever the kill tore, the store is still appendable and the new frame is visible.
    const s = openLogIndexStore(dir);
    await s.append([set('after-crash', 1)]);
    await s.close();
    assert.ok((await load(dir)).records.has('after-crash'));
  });
});

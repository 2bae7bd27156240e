import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { offThreadSha256 } from '../../src/adapters/hash-worker.ts';
import { sha256 } from '../../src/adapters/node-fs.ts';
import { BackgroundChunkHasher } from '../../src/chunking/background-chunks.ts';
import { ChunkHasher } from '../../src/chunking/chunk-hasher.ts';
import { Chunker } from '../../src/chunking/fastcdc.ts';
import { GivenCuts } from '../../src/chunking/given-chunks.ts';
import { FerryError } from '../../src/core/errors.ts';

const MiB = 1 << 20;

/** `data` in blocks of the given sizes, cycling (small ones are gathered, large ones go alone). */
function* blocks(data: Buffer, sizes: readonly number[]): Generator<Buffer> {
  for (let at = 0, i = 0; at < data.length; i++) {
    const n = sizes[i % sizes.length] as number;
    yield data.subarray(at, at + n);
    at += n;
  }
}

const here = (data: Buffer) => {
  const c = new ChunkHasher(sha256);
  c.push(data);
  return { hash: createHash('sha256').update(data).digest('hex'), chunks: c.end() };
};

describe('hashing on the worker thread', () => {
  it('gives the whole hash and the chunk list of hashing here, however the stream is cut', async () => {
    const data = randomBytes(11 * MiB + 12345);
    for (const sizes of [[MiB], [1000, 70_000, 5 * MiB + 3], [9 * MiB]]) {
      for (const give of [false, true]) {
        const bg = new BackgroundChunkHasher(offThreadSha256({ chunks: true }), new Chunker());
        // A given block is a copy of its own: the hasher may take its memory.
        for (const b of blocks(data, sizes)) await bg.push(give ? Buffer.from(b) : b, give);
        assert.deepEqual(await bg.end(), here(data), `blocks ${sizes.join(',')} give=${give}`);
      }
    }
  });

  it('hashes in the boundaries of a given list, and only the whole stream without a cutter', async () => {
    const data = randomBytes(6 * MiB + 7);
    const { hash, chunks } = here(data);
    const sizes = chunks.map((c) => c.size);
    const given = new BackgroundChunkHasher(offThreadSha256({ chunks: true }), new GivenCuts(sizes));
    for (const b of blocks(data, [300_000])) await given.push(b);
    assert.deepEqual(await given.end(), { hash, chunks });
    // The same boundaries on this thread.
    const sync = new ChunkHasher(sha256, new GivenCuts(sizes));
    sync.push(data);
    assert.deepEqual(sync.end(), chunks);

    const whole = new BackgroundChunkHasher(offThreadSha256({ chunks: false }), undefined);
    await whole.push(data);
    assert.deepEqual(await whole.end(), { hash });
  });

  it('refuses chunk sizes that do not fit the bytes, and an aborted stream takes no more', async () => {
    const s = offThreadSha256({ chunks: true });
    await s.push(new Uint8Array(100), [200], false);
    await assert.rejects(s.end(0), (e) => e instanceof FerryError && e.code === 'INTERNAL');

    const a = offThreadSha256({ chunks: false });
    await a.push(new Uint8Array(10), [], false);
    a.abort();
    await assert.rejects(a.push(new Uint8Array(10), [], false), FerryError);
    // Other streams go on.
    const b = offThreadSha256({ chunks: false });
    await b.push(Buffer.from('abc'), [], false);
    assert.equal((await b.end(0)).hash, createHash('sha256').update('abc').digest('hex'));
  });

  it('never keeps the process alive when its only stream was abandoned (a run whose link died)', async (t) => {
    // Plain node, as ferry runs (the tests' TypeScript loader changes how worker ports are held):
    // the worker starts for a stream that is aborted before any reply is awaited.
    const dir = mkdtempSync(join(tmpdir(), 'ferry-hw-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const script = join(dir, 'abandon.ts');
    const worker = fileURLToPath(new URL('../../src/adapters/hash-worker.ts', import.meta.url));
    writeFileSync(
      script,
      `import { offThreadSha256 } from ${JSON.stringify(worker)};\n` +
        'const s = offThreadSha256({ chunks: true });\nsetTimeout(() => s.abort(), 300);\n',
    );
    await build({
      entryPoints: [script],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: join(dir, 'abandon.mjs'),
      logLevel: 'error',
    });
    const r = spawnSync(process.execPath, [join(dir, 'abandon.mjs')], { timeout: 15_000 });
    assert.equal(r.error, undefined, 'the process did not exit by itself');
    assert.equal(r.status, 0, String(r.stderr));
  });
});

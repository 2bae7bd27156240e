import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Chunker, type ChunkParams, chunkLengths, DEFAULT_CHUNK_PARAMS } from '../../src/chunking/fastcdc.ts';

/** Deterministic bytes (xorshift32) so pinned boundaries do not depend on node:crypto's RNG. */
function pseudoRandomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Feeds `data` to a fresh chunker in blocks cut at the given (sorted, in-range) offsets. */
function chunkInBlocks(data: Uint8Array, cuts: readonly number[], params: ChunkParams): number[] {
  const c = new Chunker(params);
  const out: number[] = [];
  let prev = 0;
  for (const cut of [...cuts, data.length]) {
    out.push(...c.push(data.subarray(prev, cut)));
    prev = cut;
  }
  const last = c.end();
  if (last > 0) out.push(last);
  return out;
}

function chunkInFixedBlocks(data: Uint8Array, size: number, params: ChunkParams): number[] {
  const cuts: number[] = [];
  for (let o = size; o < data.length; o += size) cuts.push(o);
  return chunkInBlocks(data, cuts, params);
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

function chunkHashes(data: Uint8Array, lengths: readonly number[]): string[] {
  const out: string[] = [];
  let off = 0;
  for (const len of lengths) {
    out.push(
      createHash('sha256')
        .update(data.subarray(off, off + len))
        .digest('hex'),
    );
    off += len;
  }
  return out;
}

function assertBounds(lengths: readonly number[], total: number, p: ChunkParams): void {
  assert.equal(sum(lengths), total);
  lengths.forEach((len, i) => {
    assert.ok(len > 0, 'no empty chunks');
    assert.ok(len <= p.maxSize, `chunk ${i} of ${len} exceeds max ${p.maxSize}`);
    if (i < lengths.length - 1) assert.ok(len >= p.minSize, `chunk ${i} of ${len} below min ${p.minSize}`);
  });
}

const SMALL: ChunkParams = { minSize: 64, avgSize: 256, maxSize: 1024 };

describe('chunker', () => {
  it('pins the exact boundaries of a fixed input (the gear table and masks are a stable format)', () => {
    const data = pseudoRandomBytes(1 << 20, 12345);
    assert.deepEqual(chunkLengths(data), PINNED_DEFAULT);
    assert.deepEqual(chunkLengths(data.subarray(0, 8192), SMALL), PINNED_SMALL);
  });

  it('finds the same boundaries whatever block sizes the stream arrives in', () => {
    const data = randomBytes(3 << 20);
    const whole = chunkLengths(data);
    assertBounds(whole, data.length, DEFAULT_CHUNK_PARAMS);
    assert.ok(whole.length > 10);
    for (const size of [1, 7, 64 * 1024, 1 << 20]) {
      const sub = size === 1 ? data.subarray(0, 600 * 1024) : data;
      const expected = size === 1 ? chunkLengths(sub) : whole;
      assert.deepEqual(chunkInFixedBlocks(sub, size, DEFAULT_CHUNK_PARAMS), expected, `block size ${size}`);
    }
  });

  it('property: random data and random split points give identical, bounded chunks', () => {
    const params = fc.constantFrom<ChunkParams>(
      SMALL,
      { minSize: 1, avgSize: 64, maxSize: 64 },
      {
        minSize: 128,
        avgSize: 128,
        maxSize: 4096,
      },
    );
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 20_000, size: 'max' }),
        fc.array(fc.nat(), { maxLength: 40 }),
        params,
        (bytes, rawCuts, p) => {
          const cuts = [...new Set(rawCuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort(
            (a, b) => a - b,
          );
          const whole = chunkLengths(bytes, p);
          assertBounds(whole, bytes.length, p);
          assert.deepEqual(chunkInBlocks(bytes, cuts, p), whole);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: default parameters on larger random buffers, random splits', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1 << 21 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (n, rawCuts) => {
          const bytes = randomBytes(n);
          const cuts = [...new Set(rawCuts.map((c) => (n === 0 ? 0 : c % n)))].sort((a, b) => a - b);
          const whole = chunkLengths(bytes);
          assertBounds(whole, n, DEFAULT_CHUNK_PARAMS);
          assert.deepEqual(chunkInBlocks(bytes, cuts, DEFAULT_CHUNK_PARAMS), whole);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('an insertion near the start changes only the chunks around it', () => {
    const size = 32 << 20;
    const data = randomBytes(size);
    const edited = new Uint8Array(size + 100);
    const at = 5000;
    edited.set(data.subarray(0, at), 0);
    edited.set(randomBytes(100), at);
    edited.set(data.subarray(at), at + 100);
    const before = chunkHashes(data, chunkLengths(data));
    const afterLengths = chunkLengths(edited);
    assertBounds(afterLengths, edited.length, DEFAULT_CHUNK_PARAMS);
    const after = chunkHashes(edited, afterLengths);
    const old = new Set(before);
    const fresh = after.filter((h) => !old.has(h)).length;
    assert.ok(before.length > 300, `expected many chunks, got ${before.length}`);
    assert.ok(fresh >= 1 && fresh <= 3, `${fresh} new chunks of ${after.length}`);
    assert.ok(after.length - fresh >= before.length - 3);
  });

  it('end() reports 0 when nothing is pending and resets for a new stream', () => {
    const c = new Chunker(SMALL);
    assert.equal(c.end(), 0);
    assert.deepEqual(c.push(new Uint8Array(0)), []);
    assert.deepEqual(c.push(new Uint8Array(10)), []);
    assert.equal(c.end(), 10);
    assert.equal(c.end(), 0);
    const data = pseudoRandomBytes(5000, 7);
    assert.deepEqual(chunkInFixedBlocks(data, 333, SMALL), chunkLengths(data, SMALL));
    assert.deepEqual(chunkLengths(new Uint8Array(0)), []);
  });

  it('cuts constant data at maxSize', () => {
    const lengths = chunkLengths(new Uint8Array(1 << 20));
    assert.deepEqual(lengths, [262144, 262144, 262144, 262144]);
  });

  it('rejects impossible parameters', () => {
    assert.throws(() => new Chunker({ minSize: 10, avgSize: 8, maxSize: 100 }), { code: 'USAGE' });
    assert.throws(() => new Chunker({ minSize: 0, avgSize: 64, maxSize: 100 }), { code: 'USAGE' });
    assert.throws(() => new Chunker({ minSize: 1, avgSize: 1024, maxSize: 512 }), { code: 'USAGE' });
    assert.throws(() => new Chunker({ minSize: 1, avgSize: 64.5, maxSize: 512 }), { code: 'USAGE' });
  });
});

// Boundaries of pseudoRandomBytes(1 MiB, 12345). If these change, every stored chunk hash changes:
// do not "fix" them, fix the chunker.
const PINNED_DEFAULT = [
  91457, 114922, 66011, 26155, 21861, 75302, 67764, 79417, 74833, 48990, 67989, 41912, 43378, 92892, 60893,
  74800,
];
const PINNED_SMALL = [
  313, 314, 411, 286, 428, 272, 337, 281, 321, 420, 187, 301, 272, 413, 303, 132, 338, 401, 217, 284, 303,
  307, 278, 280, 200, 412, 181,
];

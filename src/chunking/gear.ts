/**
 * The gear table of the rolling hash: 256 pseudo-random 32-bit words, one per byte value.
 *
 * MUST NEVER CHANGE. Chunk boundaries (and so chunk hashes shared between replicas, stashes and
 * carried bundles) are a function of this table; a different table re-chunks every large file
 * and defeats deduplication against everything stored before. The table is derived from a fixed
 * seed with splitmix32 so it is reproducible without a 256-line literal; test/unit/chunking.test.ts
 * pins the resulting boundaries for a fixed input.
 */
const GEAR_SEED = 0x66657272; // 'ferr'

function buildGear(seed: number): Int32Array {
  const table = new Int32Array(256);
  let s = seed >>> 0;
  for (let i = 0; i < 256; i++) {
    // splitmix32: a well-mixed, trivially reproducible 32-bit generator.
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    z = (z ^ (z >>> 16)) >>> 0;
    table[i] = z | 0;
  }
  return table;
}

/** Signed view of the words: the hot loop stays in int32 arithmetic, which V8 keeps unboxed. */
export const GEAR: Int32Array = buildGear(GEAR_SEED);

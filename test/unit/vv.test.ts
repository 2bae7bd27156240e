import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  bump,
  compare,
  dominates,
  emptyVector,
  merge,
  type Order,
  type VersionVector,
  vectorKey,
} from '../../src/core/vv.ts';

const ids = ['A', 'B', 'C', 'D', 'E'] as const;
const id = fc.constantFrom(...ids);

/** Small counters over few ids, zeros included: a zero counter must mean the same as an absent one. */
const vector: fc.Arbitrary<VersionVector> = fc
  .dictionary(id, fc.nat({ max: 4 }), { maxKeys: ids.length })
  .map((v) => Object.freeze({ ...v }));

/** Only positive counters: the shape scans and merges produce. */
const positiveVector: fc.Arbitrary<VersionVector> = fc
  .dictionary(id, fc.integer({ min: 1, max: 4 }), { maxKeys: ids.length })
  .map((v) => Object.freeze({ ...v }));

const mirror: Record<Order, Order> = {
  equal: 'equal',
  before: 'after',
  after: 'before',
  concurrent: 'concurrent',
};

const RUNS = { numRuns: 500 };

/** Vectors that compare equal: merges keep explicit zeros from one side only, so compare by key. */
function sameVector(a: VersionVector, b: VersionVector): void {
  assert.equal(compare(a, b), 'equal', `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  assert.equal(vectorKey(a), vectorKey(b));
}

describe('version vectors', () => {
  it('compare(a, b) is the mirror of compare(b, a)', () => {
    fc.assert(
      fc.property(vector, vector, (a, b) => {
        assert.equal(compare(b, a), mirror[compare(a, b)]);
      }),
      RUNS,
    );
  });

  it('compare is reflexive and a zero counter equals an absent one', () => {
    fc.assert(
      fc.property(vector, id, (a, k) => {
        assert.equal(compare(a, a), 'equal');
        const withZero = { ...a, [k]: a[k] ?? 0 };
        assert.equal(compare(a, withZero), 'equal');
        assert.equal(compare(emptyVector, { [k]: 0 }), 'equal');
      }),
      RUNS,
    );
  });

  it('merge is commutative, associative and idempotent', () => {
    fc.assert(
      fc.property(vector, vector, vector, (a, b, c) => {
        sameVector(merge(a, b), merge(b, a));
        sameVector(merge(merge(a, b), c), merge(a, merge(b, c)));
        sameVector(merge(a, a), a);
        sameVector(merge(a, emptyVector), a);
      }),
      RUNS,
    );
  });

  it('merge(a, b) dominates a and b and is their least upper bound', () => {
    fc.assert(
      fc.property(vector, vector, vector, (a, b, c) => {
        const m = merge(a, b);
        assert.ok(dominates(m, a));
        assert.ok(dominates(m, b));
        // any vector that has seen both a and b has seen their merge
        if (dominates(c, a) && dominates(c, b)) assert.ok(dominates(c, m));
        for (const k of ids) assert.equal(m[k] ?? 0, Math.max(a[k] ?? 0, b[k] ?? 0));
      }),
      RUNS,
    );
  });

  it('merge of concurrent vectors is strictly after both', () => {
    fc.assert(
      fc.property(vector, vector, (a, b) => {
        fc.pre(compare(a, b) === 'concurrent');
        const m = merge(a, b);
        assert.equal(compare(m, a), 'after');
        assert.equal(compare(m, b), 'after');
      }),
      RUNS,
    );
  });

  it("bump(a, id) is 'after' a and only that counter moves, by one", () => {
    fc.assert(
      fc.property(vector, id, (a, k) => {
        const b = bump(a, k);
        assert.equal(compare(b, a), 'after');
        assert.equal(compare(a, b), 'before');
        assert.ok(dominates(b, a));
        assert.ok(!dominates(a, b));
        assert.equal(b[k], (a[k] ?? 0) + 1);
        for (const j of ids) if (j !== k) assert.equal(b[j] ?? 0, a[j] ?? 0);
      }),
      RUNS,
    );
  });

  it('bumps by two different replicas from one ancestor are concurrent; merging and bumping orders them again', () => {
    fc.assert(
      fc.property(vector, id, id, (a, x, y) => {
        fc.pre(x !== y);
        const bx = bump(a, x);
        const by = bump(a, y);
        assert.equal(compare(bx, by), 'concurrent');
        const resolved = bump(merge(bx, by), x);
        assert.equal(compare(resolved, bx), 'after');
        assert.equal(compare(resolved, by), 'after');
      }),
      RUNS,
    );
  });

  it('dominates(a, b) holds exactly when merging b into a changes nothing', () => {
    fc.assert(
      fc.property(vector, vector, (a, b) => {
        assert.equal(dominates(a, b), compare(merge(a, b), a) === 'equal');
        assert.equal(dominates(a, b) && dominates(b, a), compare(a, b) === 'equal');
      }),
      RUNS,
    );
  });

  it("'before' is transitive", () => {
    fc.assert(
      fc.property(vector, vector, vector, id, id, (a, d1, d2, k1, k2) => {
        const b = bump(merge(a, d1), k1);
        const c = bump(merge(b, d2), k2);
        assert.equal(compare(a, b), 'before');
        assert.equal(compare(b, c), 'before');
        assert.equal(compare(a, c), 'before');
      }),
      RUNS,
    );
  });

  it('vectors are equal iff their vectorKey is equal', () => {
    fc.assert(
      fc.property(positiveVector, positiveVector, (a, b) => {
        assert.equal(compare(a, b) === 'equal', vectorKey(a) === vectorKey(b));
      }),
      RUNS,
    );
    fc.assert(
      fc.property(vector, vector, (a, b) => {
        assert.equal(compare(a, b) === 'equal', vectorKey(a) === vectorKey(b));
      }),
      RUNS,
    );
  });

  it('vectorKey is canonical: sorted ids, zeros dropped, independent of insertion order', () => {
    assert.equal(vectorKey({ B: 2, A: 1, C: 0 }), 'A:1,B:2');
    assert.equal(vectorKey({ A: 1, B: 2 }), vectorKey({ B: 2, A: 1 }));
    assert.equal(vectorKey(emptyVector), '');
  });

  it('no function mutates its inputs (inputs are frozen)', () => {
    fc.assert(
      fc.property(vector, vector, id, (a, b, k) => {
        const before = JSON.stringify([a, b]);
        merge(a, b);
        bump(a, k);
        compare(a, b);
        dominates(a, b);
        vectorKey(a);
        assert.equal(JSON.stringify([a, b]), before);
      }),
      RUNS,
    );
  });

  it('compares a few hand-written vectors', () => {
    const cases: [VersionVector, VersionVector, Order][] = [
      [{}, {}, 'equal'],
      [{}, { A: 1 }, 'before'],
      [{ A: 1 }, {}, 'after'],
      [{ A: 1 }, { B: 1 }, 'concurrent'],
      [{ A: 2, B: 1 }, { A: 1, B: 1 }, 'after'],
      [{ A: 1, B: 1 }, { A: 1, B: 2 }, 'before'],
      [{ A: 2 }, { A: 1, B: 1 }, 'concurrent'],
      [{ A: 1, B: 0 }, { A: 1 }, 'equal'],
    ];
    for (const [a, b, want] of cases) assert.equal(compare(a, b), want, `${vectorKey(a)} vs ${vectorKey(b)}`);
  });
});

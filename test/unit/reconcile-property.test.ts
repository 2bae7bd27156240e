import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ancestors } from '../../src/core/path.ts';
import type { ConflictRule, Plan, SyncMode } from '../../src/core/plan.ts';
import { diskView, Sim, type SyncOptions } from '../helpers/sim.ts';

/** Few names, nested, so that files, directories and deletions collide often. */
const PATHS = ['a', 'b', 'a/x', 'a/y', 'b/z', 'a/x/q'] as const;

type Op =
  | { readonly t: 'write'; readonly r: number; readonly path: string; readonly tick: boolean }
  | { readonly t: 'copy'; readonly r: number; readonly from: number; readonly path: string }
  | { readonly t: 'rm'; readonly r: number; readonly path: string }
  | { readonly t: 'mkdir'; readonly r: number; readonly path: string }
  | { readonly t: 'sync'; readonly subset: readonly number[] };

function opArb(n: number): fc.Arbitrary<Op> {
  const r = fc.nat({ max: n - 1 });
  const path = fc.constantFrom(...PATHS);
  return fc.oneof(
    { weight: 5, arbitrary: fc.record({ t: fc.constant('write' as const), r, path, tick: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('copy' as const), r, from: r, path }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('rm' as const), r, path }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('mkdir' as const), r, path }) },
    {
      weight: 3,
      arbitrary: fc.record({
        t: fc.constant('sync' as const),
        subset: fc.shuffledSubarray(
          Array.from({ length: n }, (_, i) => i),
          { minLength: 2 },
        ),
      }),
    },
  );
}

const scenario = fc
  .integer({ min: 3, max: 4 })
  .chain((n) => fc.record({ n: fc.constant(n), ops: fc.array(opArb(n), { maxLength: 40, size: 'medium' }) }));

function run(sim: Sim, ops: readonly Op[], opts: SyncOptions): void {
  for (const op of ops) {
    switch (op.t) {
      case 'write':
        if (op.tick) sim.tick();
        sim.write(op.r, op.path);
        break;
      case 'copy':
        sim.copyFrom(op.r, op.from, op.path);
        break;
      case 'rm':
        sim.remove(op.r, op.path);
        break;
      case 'mkdir':
        sim.mkdir(op.r, op.path);
        break;
      case 'sync':
        sim.sync(op.subset, opts);
        break;
    }
  }
}

function all(sim: Sim): number[] {
  return sim.replicas.map((_, i) => i);
}

function changes(plan: Plan): string[] {
  return plan.actions
    .filter((a) => a.type !== 'record')
    .map((a) => `${a.type} ${a.replica} ${JSON.stringify(a)}`);
}

/** (a) converge, (b) lose nothing, (c) every live path's ancestors are directories. */
function checkFinal(sim: Sim, opts: SyncOptions): void {
  sim.sync(all(sim), opts);
  const first = diskView(sim.replica(0));
  for (const r of sim.replicas)
    assert.deepEqual(diskView(r), first, `${r.id} differs from R0 after a full sync`);
  sim.sync(all(sim), opts);
  for (const r of sim.replicas) assert.deepEqual(diskView(r), first, `${r.id} moved in a second full sync`);
  const again = sim.sync(all(sim), opts);
  assert.deepEqual(changes(again), [], 'a converged set of replicas plans no changes');
  assert.deepEqual(again.conflicts, []);
  assert.deepEqual(sim.lost(), [], 'every version ever written is on some disk or in some history');
  for (const r of sim.replicas) {
    for (const p of r.disk.keys()) {
      for (const a of ancestors(p))
        assert.equal(r.disk.get(a)?.kind, 'dir', `${r.id}: ancestor ${a} of ${p}`);
    }
  }
}

describe('reconcile property: random edits and partial syncs', () => {
  it('keep-both: converges, loses nothing and keeps every concurrent version live', () => {
    const opts: SyncOptions = { checkSuperseded: true };
    fc.assert(
      fc.property(scenario, ({ n, ops }) => {
        const sim = new Sim(n);
        run(sim, ops, opts);
        checkFinal(sim, opts);
      }),
      { numRuns: 400 },
    );
  });

  it('newest and prefer: converge and lose nothing (losers go to history)', () => {
    const rule: fc.Arbitrary<ConflictRule> = fc.oneof(
      fc.constant({ kind: 'newest' } as const),
      fc.nat({ max: 3 }).map((replica) => ({ kind: 'prefer', replica }) as const),
    );
    fc.assert(
      fc.property(scenario, rule, ({ n, ops }, conflict) => {
        const sim = new Sim(n);
        const opts: SyncOptions = { conflict };
        run(sim, ops, opts);
        checkFinal(sim, opts);
      }),
      { numRuns: 200 },
    );
  });

  it('mirror: the first replica of the run becomes the truth everywhere, and nothing is lost', () => {
    const mode: SyncMode = 'mirror';
    fc.assert(
      fc.property(scenario, ({ n, ops }) => {
        const sim = new Sim(n);
        run(sim, ops, { mode });
        const truth = diskView(sim.replica(0));
        sim.sync(all(sim), { mode });
        for (const r of sim.replicas) assert.deepEqual(diskView(r), truth, `${r.id} is not a mirror of R0`);
        const again = sim.sync(all(sim), { mode });
        assert.deepEqual(changes(again), []);
        assert.deepEqual(sim.lost(), []);
      }),
      { numRuns: 200 },
    );
  });

  it('I7: the plan does not depend on the order the replicas are given in (keep-both and newest)', () => {
    const rule: fc.Arbitrary<ConflictRule> = fc.constantFrom({ kind: 'keep-both' }, { kind: 'newest' });
    fc.assert(
      fc.property(scenario, rule, ({ n, ops }, conflict) => {
        const sim = new Sim(n);
        const opts: SyncOptions = { conflict, checkPermutation: true };
        run(sim, ops, opts);
        sim.sync(all(sim), opts);
      }),
      { numRuns: 300 },
    );
  });
});

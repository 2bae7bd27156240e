import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextGenerations, rewind, rewoundRoots } from '../../src/engine/generations.ts';
import type { OpenInfo } from '../../src/ports/replica.ts';

const info = (replicaId: string, gen?: number, knownGens?: Record<string, number>): OpenInfo => ({
  replicaId,
  exists: true,
  fresh: false,
  lastSync: undefined,
  peers: {},
  singleFile: false,
  ...(gen === undefined ? {} : { gen }),
  ...(knownGens === undefined ? {} : { knownGens }),
});

describe('generations', () => {
  it('a root below the generation a peer has seen of it is rewound; one at or above it is not', () => {
    const a = info('a', 2, { a: 2, b: 4 });
    const b = info('b', 4, { a: 3, b: 4 });
    assert.deepEqual(rewoundRoots([a, b]), [true, false]);
  });

  it('an index from before generations counts as 0 once a peer has seen one', () => {
    assert.deepEqual(rewoundRoots([info('a'), info('b', 1, { a: 1, b: 1 })]), [true, false]);
    assert.deepEqual(rewoundRoots([info('a'), info('b')]), [false, false]);
  });

  it('a root new to this run is never rewound, and gets generation 1', () => {
    const roots = [info('', undefined), info('b', 2, { b: 2 })];
    assert.deepEqual(rewoundRoots(roots), [false, false]);
    assert.deepEqual(nextGenerations([info('n'), info('b', 2, { b: 2, x: 7 })]), { n: 1, b: 3, x: 7 });
  });

  it('each root of the run moves one past the highest generation seen of it; others are passed on', () => {
    const gens = nextGenerations([info('a', 2, { a: 2, b: 5, c: 9 }), info('b', 4, { a: 3, b: 4 })]);
    assert.deepEqual(gens, { a: 4, b: 6, c: 9 });
  });

  it('rewind gives a rewound root a fresh key and drops its settled token', () => {
    const a: OpenInfo = { ...info('a', 1, { a: 1 }), settled: 'tok.x' };
    const b: OpenInfo = { ...info('b', 3, { a: 2, b: 3 }), settled: 'tok.y' };
    const { infos, rekeys } = rewind([a, b]);
    assert.match(rekeys[0] ?? '', /^[a-z2-7]{8}$/);
    assert.equal(rekeys[1], undefined);
    assert.equal(infos[0]?.vvKey, rekeys[0]);
    assert.equal(infos[0]?.settled, undefined);
    assert.equal(infos[1], b);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReadArenas } from '../../src/adapters/read-arenas.ts';

describe('read arenas', () => {
  it('reuses a buffer only after every view of it was handed back', () => {
    const arenas = new ReadArenas();
    const a = arenas.take(3 << 20);
    assert.ok(a);
    assert.equal(a.length, 3 << 20);
    const b = arenas.take(1000);
    assert.ok(b);
    assert.notEqual(b.buffer, a.buffer, 'a buffer still lent out is never handed out again');
    arenas.recycle([a.subarray(0, 10), a.subarray(10, 20)]);
    const c = arenas.take(2 << 20);
    assert.equal(c?.buffer, a.buffer, 'the recycled buffer serves the next request that fits');
    assert.equal(c?.length, 2 << 20);
  });

  it('ignores views it did not lend, and views handed back twice', () => {
    const arenas = new ReadArenas();
    const mine = arenas.take(100);
    assert.ok(mine);
    arenas.recycle([Buffer.alloc(5000), new Uint8Array(10)]);
    const fresh = arenas.take(100);
    assert.notEqual(fresh?.buffer, mine.buffer);
    arenas.recycle([mine]);
    arenas.recycle([mine]);
    const first = arenas.take(100);
    const second = arenas.take(100);
    assert.equal(first?.buffer, mine.buffer);
    assert.notEqual(second?.buffer, mine.buffer, 'one hand-back, one reuse');
  });

  it('keeps at most two buffers and serves no request too large or empty', () => {
    const arenas = new ReadArenas();
    const lent = [arenas.take(10), arenas.take(10), arenas.take(10)];
    arenas.recycle(lent.flatMap((b) => (b ? [b] : [])));
    const again = [arenas.take(10), arenas.take(10), arenas.take(10)].map((b) => b?.buffer);
    const reused = again.filter((m) => lent.some((b) => b?.buffer === m));
    assert.equal(reused.length, 2);
    assert.equal(arenas.take(0), undefined);
    assert.equal(arenas.take((32 << 20) + 1), undefined);
  });
});

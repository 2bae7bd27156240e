import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eachRoot } from '../../src/engine/each-root.ts';
import type { ReplicaPort } from '../../src/ports/replica.ts';

// engine/each-root.ts: a local root's work runs synchronously once called, so with any root behind
// a link the local roots must start only after the remote requests are written, a few promise
// turns into the remote call.

const port = (label: string, remote: boolean): ReplicaPort =>
  ({ label, ...(remote ? { wireBytes: () => ({ sent: 0, received: 0 }) } : {}) }) as unknown as ReplicaPort;

test('with a root behind a link, local roots start after the remote request chain has run', async () => {
  const order: string[] = [];
  const out = eachRoot([port('local', false), port('remote', true)], async (r) => {
    order.push(`start ${r.label}`);
    if (r.label === 'remote') {
      // The link's readiness and call queue: several promise turns before the request is written.
      for (let i = 0; i < 5; i++) await null;
      order.push('remote request written');
    }
    return r.label;
  });
  order.push('eachRoot returned');
  assert.deepEqual(await Promise.all(out), ['local', 'remote'], 'results stay in root order');
  assert.deepEqual(order, ['start remote', 'eachRoot returned', 'remote request written', 'start local']);
});

test('local roots only: every root starts at once, in order', async () => {
  const order: string[] = [];
  const out = eachRoot([port('a', false), port('b', false)], async (r) => {
    order.push(r.label);
    return r.label;
  });
  order.push('eachRoot returned');
  assert.deepEqual(await Promise.all(out), ['a', 'b']);
  assert.deepEqual(order, ['a', 'b', 'eachRoot returned']);
});

test('a synchronous throw becomes that root’s rejection, the others still resolve', async () => {
  const out = eachRoot([port('bad', false), port('remote', true)], (r) => {
    if (r.label === 'bad') throw new Error('boom');
    return Promise.resolve(r.label);
  });
  const settled = await Promise.allSettled(out);
  assert.equal(settled[0]?.status, 'rejected');
  assert.deepEqual(settled[1], { status: 'fulfilled', value: 'remote' });
});

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PARTIAL_MAX_AGE_MS, PARTIAL_MAX_COUNT, Partials } from '../../src/adapters/partials.ts';
import { scratch } from '../helpers/tree.ts';

const h = (c: string) => c.repeat(64);
const DAY = 24 * 3600 * 1000;

function put(dir: string, name: string, size: number, ageMs = 0, now = Date.now()): void {
  fs.writeFileSync(join(dir, name), Buffer.alloc(size, 1));
  const t = (now - ageMs) / 1000;
  fs.utimesSync(join(dir, name), t, t);
}

test('tidy keeps the largest prefix per hash under its hash and removes everything else', (t) => {
  const dir = join(scratch(t, 'partials-tidy'), 'partial');
  fs.mkdirSync(dir);
  put(dir, h('a'), 10);
  put(dir, `${h('a')}.1-1.part`, 30);
  put(dir, `${h('a')}.2-1.part`, 20);
  put(dir, `${h('b')}.3-7.part`, 5);
  put(dir, `${h('c')}.3-8.part`, 0);
  put(dir, 'junk', 3);
  put(dir, `${h('d')}.part`, 3);
  fs.mkdirSync(join(dir, h('e')));
  const p = new Partials(dir, () => Date.now());
  p.tidy();
  assert.deepEqual(fs.readdirSync(dir).sort(), [h('a'), h('b')]);
  assert.equal(fs.statSync(join(dir, h('a'))).size, 30);
  assert.deepEqual(
    p.list().sort((x, y) => x.hash.localeCompare(y.hash)),
    [
      { hash: h('a'), size: 30 },
      { hash: h('b'), size: 5 },
    ],
  );
  p.drop(h('a'));
  assert.deepEqual(fs.readdirSync(dir), [h('b')]);
  assert.deepEqual(p.list(), [{ hash: h('b'), size: 5 }]);
});

test('tidy removes partials older than the age limit and beyond the count limit, newest kept', (t) => {
  const dir = join(scratch(t, 'partials-bounds'), 'partial');
  fs.mkdirSync(dir);
  const now = Date.now();
  put(dir, h('0'), 4, PARTIAL_MAX_AGE_MS + DAY, now);
  put(dir, h('1'), 4, PARTIAL_MAX_AGE_MS - DAY, now);
  const names = Array.from({ length: PARTIAL_MAX_COUNT + 3 }, (_, i) => i.toString(16).padStart(64, 'f'));
  for (const [i, n] of names.entries()) put(dir, n, 1, 1000 * (i + 1), now);
  const p = new Partials(dir, () => now);
  p.tidy();
  const kept = new Set(fs.readdirSync(dir));
  assert.equal(kept.size, PARTIAL_MAX_COUNT);
  assert.ok(!kept.has(h('0')), 'a partial past the age limit was kept');
  assert.ok(!kept.has(h('1')), 'the oldest partial beyond the count limit was kept');
  assert.ok(kept.has(names[0] as string), 'the newest partial was removed');
  assert.equal(p.list().length, PARTIAL_MAX_COUNT);
});

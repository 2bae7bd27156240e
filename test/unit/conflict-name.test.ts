import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { conflictCopyName } from '../../src/core/conflict-name.ts';
import { baseName, byteLength, checkRelPath, MAX_NAME_BYTES, parentOf } from '../../src/core/path.ts';

/** 2024-03-05 06:07:08.9 UTC */
const MTIME = Date.UTC(2024, 2, 5, 6, 7, 8, 900);
const STAMP = '20240305-060708';
const free = () => false;

interface NameCase {
  readonly path: string;
  readonly mtime?: number;
  readonly id?: string;
  readonly want: string;
}

const cases: readonly NameCase[] = [
  { path: 'notes.txt', want: `notes.sync-conflict-${STAMP}-A.txt` },
  { path: 'archive.tar.gz', want: `archive.tar.sync-conflict-${STAMP}-A.gz` },
  { path: 'Makefile', want: `Makefile.sync-conflict-${STAMP}-A` },
  { path: '.bashrc', want: `.bashrc.sync-conflict-${STAMP}-A` },
  { path: '.config.json', want: `.config.sync-conflict-${STAMP}-A.json` },
  { path: 'trailing.', want: `trailing..sync-conflict-${STAMP}-A` },
  { path: 'docs/2024/report.md', want: `docs/2024/report.sync-conflict-${STAMP}-A.md` },
  { path: 'a.b/c', want: `a.b/c.sync-conflict-${STAMP}-A` },
  { path: 'dir/.hidden', want: `dir/.hidden.sync-conflict-${STAMP}-A` },
  { path: 'x.txt', id: 'laptop-7f3a', want: `x.sync-conflict-${STAMP}-laptop-7f3a.txt` },
  // UTC from the mtime, whole seconds (floored), zero-padded
  { path: 'x.txt', mtime: 0, want: 'x.sync-conflict-19700101-000000-A.txt' },
  {
    path: 'x.txt',
    mtime: Date.UTC(1999, 11, 31, 23, 59, 59, 999),
    want: 'x.sync-conflict-19991231-235959-A.txt',
  },
  {
    path: 'x.txt',
    mtime: Date.UTC(2030, 0, 1, 0, 0, 0) + 0.5,
    want: 'x.sync-conflict-20300101-000000-A.txt',
  },
  // a non-finite mtime (symlinks, broken stat) still gives a valid deterministic name
  { path: 'x.txt', mtime: Number.NaN, want: 'x.sync-conflict-19700101-000000-A.txt' },
  { path: 'ünïcødé.txt', want: `ünïcødé.sync-conflict-${STAMP}-A.txt` },
];

describe('conflictCopyName', () => {
  for (const c of cases) {
    it(`${c.path} -> ${c.want}`, () => {
      assert.equal(conflictCopyName(c.path, c.mtime ?? MTIME, c.id ?? 'A', free), c.want);
    });
  }

  it('adds a counter when the name is taken, and keeps counting', () => {
    const taken = new Set<string>();
    const names: string[] = [];
    for (let i = 0; i < 4; i++) {
      const n = conflictCopyName('d/notes.txt', MTIME, 'B', (p) => taken.has(p));
      taken.add(n);
      names.push(n);
    }
    assert.deepEqual(names, [
      `d/notes.sync-conflict-${STAMP}-B.txt`,
      `d/notes.sync-conflict-${STAMP}-B-2.txt`,
      `d/notes.sync-conflict-${STAMP}-B-3.txt`,
      `d/notes.sync-conflict-${STAMP}-B-4.txt`,
    ]);
  });

  it('asks `taken` about full paths, in its own directory', () => {
    const asked: string[] = [];
    conflictCopyName('a/b/c.txt', MTIME, 'A', (p) => {
      asked.push(p);
      return asked.length < 2;
    });
    assert.deepEqual(asked, [`a/b/c.sync-conflict-${STAMP}-A.txt`, `a/b/c.sync-conflict-${STAMP}-A-2.txt`]);
  });

  it('is deterministic: same inputs, same name', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), fc.nat(), (name, mtime) => {
        const p = `d/${name.replace(/[/\0]/g, '_')}`;
        fc.pre(checkRelPath(p) === undefined);
        assert.equal(conflictCopyName(p, mtime, 'A', free), conflictCopyName(p, mtime, 'A', free));
      }),
    );
  });

  it('shortens a very long stem so the name stays within 255 bytes (ASCII)', () => {
    const stem = 'n'.repeat(300);
    const out = conflictCopyName(`dir/${stem}.txt`, MTIME, 'A', free);
    const name = baseName(out);
    assert.equal(parentOf(out), 'dir');
    assert.ok(byteLength(name) <= MAX_NAME_BYTES, `${byteLength(name)} bytes`);
    assert.ok(name.endsWith(`.sync-conflict-${STAMP}-A.txt`));
    assert.equal(byteLength(name), MAX_NAME_BYTES, 'uses the whole budget');
  });

  it('shortens by whole code points so multi-byte names stay valid UTF-8 and within 255 bytes', () => {
    for (const ch of ['é', '日', '😀']) {
      const stem = ch.repeat(200);
      for (const id of ['A', 'laptop', 'x'.repeat(40)]) {
        const out = conflictCopyName(`${stem}.md`, MTIME, id, (p) => p.endsWith(`-${id}.md`));
        assert.ok(byteLength(out) <= MAX_NAME_BYTES, `${ch} ${id}: ${byteLength(out)} bytes`);
        assert.ok(out.endsWith(`.sync-conflict-${STAMP}-${id}-2.md`));
        assert.equal(checkRelPath(out), undefined);
        const kept = out.slice(0, out.indexOf('.sync-conflict-'));
        assert.ok(kept.length > 0);
        assert.equal(kept, ch.repeat(Array.from(kept).length), 'no split surrogate pair or partial char');
      }
    }
  });

  it('a name with a very long extension still fits in 255 bytes', () => {
    // One early dot makes the rest "the extension": common in long descriptive file names.
    const base = `Minutes. ${'Discussed the budget and the timeline for next quarter, '.repeat(5)}`.slice(
      0,
      250,
    );
    assert.equal(byteLength(base), 250);
    const out = conflictCopyName(`notes/${base}`, MTIME, 'A', free);
    assert.ok(byteLength(baseName(out)) <= MAX_NAME_BYTES, `${byteLength(baseName(out))} bytes: ${out}`);
    assert.equal(checkRelPath(out), undefined);
  });

  it('every valid name maps to a valid, distinct, <= 255-byte name in the same directory', () => {
    const nameChar = fc.constantFrom('a', 'Z', '.', '-', ' ', 'é', '日', '😀', '_');
    const run = (max: number) =>
      fc.array(nameChar, { minLength: 1, maxLength: max }).map((cs) => cs.join(''));
    // a short stem with one dot and a long tail: the "extension" alone nearly fills the name
    const longTail = fc
      .tuple(
        fc.stringMatching(/^[a-z]{1,3}$/),
        fc.array(fc.constantFrom('x', 'é', '日'), { minLength: 60, maxLength: 120 }),
      )
      .map(([stem, tail]) => `${stem}.${tail.join('')}`);
    const name = fc
      .oneof(run(120), longTail)
      .filter((n) => n !== '.' && n !== '..' && byteLength(n) <= MAX_NAME_BYTES);
    fc.assert(
      fc.property(name, fc.constantFrom(undefined, 'd', 'a/b'), fc.nat({ max: 2 ** 40 }), (n, dir, mtime) => {
        const p = dir === undefined ? n : `${dir}/${n}`;
        fc.pre(checkRelPath(p) === undefined);
        const out = conflictCopyName(p, mtime, 'R1', free);
        assert.notEqual(out, p);
        assert.equal(parentOf(out), dir);
        assert.ok(byteLength(baseName(out)) <= MAX_NAME_BYTES);
        assert.equal(checkRelPath(out), undefined, out);
        assert.ok(baseName(out).includes('.sync-conflict-'));
      }),
      { numRuns: 300 },
    );
  });
});

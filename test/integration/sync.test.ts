import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { doneSummary, eventsOf, jsonLines, runFerry } from '../helpers/cli.ts';
import {
  DIR,
  fingerprint,
  historyFiles,
  readTree,
  scratch,
  type TreeSnapshot,
  writeTree,
} from '../helpers/tree.ts';

function assertSame(roots: readonly string[]): TreeSnapshot {
  const [first, ...rest] = roots.map((r) => readTree(r));
  for (const [i, t] of rest.entries()) assert.deepEqual(t, first, `${roots[i + 1]} differs from ${roots[0]}`);
  return first ?? {};
}

function stdoutAndErr(r: { stdout: string; stderr: string }): string {
  return `${r.stdout}\n${r.stderr}`;
}

test('three roots: creates on each side merge, a new root is created, nested dirs', async (t) => {
  const d = scratch(t, 'sync3');
  const [A, B, C] = ['A', 'B', join('new', 'deeper', 'C')].map((n) => join(d, n)) as [string, string, string];
  writeTree(A, { 'a.txt': 'from A', docs: { 'x.md': 'x', deep: { er: { 'y.md': 'y' } } }, empty: {} });
  writeTree(B, { 'b.txt': 'from B', docs: { 'z.md': 'z' } });
  assert.equal(fs.existsSync(C), false);

  const r = await runFerry(['sync', A, B, C]);
  assert.equal(r.code, 0, stdoutAndErr(r));
  const tree = assertSame([A, B, C]);
  assert.deepEqual(tree, {
    'a.txt': 'from A',
    'b.txt': 'from B',
    docs: DIR,
    'docs/deep': DIR,
    'docs/deep/er': DIR,
    'docs/deep/er/y.md': 'y',
    'docs/x.md': 'x',
    'docs/z.md': 'z',
    empty: DIR,
  });
  for (const root of [A, B, C])
    assert.match(fs.readFileSync(join(root, '.ferry', 'id'), 'utf8'), /^[a-z0-9]+\n$/);

  const again = await runFerry(['sync', '--json', A, B, C]);
  assert.equal(again.code, 0, stdoutAndErr(again));
  const s = doneSummary(again.stdout);
  assert.equal(s.copied, 0);
  assert.equal(s.deleted, 0);
  assert.equal(s.inSync, true);
  assert.deepEqual(eventsOf(again.stdout, 'item'), []);
});

test('modify, delete and rename propagate; replaced and deleted content is kept in history', async (t) => {
  const d = scratch(t, 'mdr');
  const [A, B, C] = ['A', 'B', 'C'].map((n) => join(d, n)) as [string, string, string];
  writeTree(A, { 'a.txt': 'a v1', 'b.txt': 'b v1', docs: { 'x.md': 'x content' }, keep: 'keep' });
  let r = await runFerry(['sync', A, B, C]);
  assert.equal(r.code, 0, stdoutAndErr(r));

  fs.writeFileSync(join(A, 'a.txt'), 'a v2, longer');
  fs.rmSync(join(B, 'b.txt'));
  fs.mkdirSync(join(C, 'moved'));
  fs.renameSync(join(C, 'docs', 'x.md'), join(C, 'moved', 'x2.md'));

  r = await runFerry(['sync', A, B, C]);
  assert.equal(r.code, 0, stdoutAndErr(r));
  const tree = assertSame([A, B, C]);
  assert.deepEqual(tree, {
    'a.txt': 'a v2, longer',
    docs: DIR,
    keep: 'keep',
    moved: DIR,
    'moved/x2.md': 'x content',
  });
  // b.txt was deleted on B: A and C keep it in their history.
  for (const root of [A, C]) assert.deepEqual(historyFiles(root)['b.txt'], ['b v1'], root);
  // x.md moved away on C: A and B, where the old path was deleted, keep its content.
  for (const root of [A, B]) assert.deepEqual(historyFiles(root)['docs/x.md'], ['x content'], root);
  // a.txt was replaced on B and C: the old version is kept there.
  for (const root of [B, C]) assert.deepEqual(historyFiles(root)['a.txt'], ['a v1'], root);
  // C deleted nothing of its own, A replaced nothing of its own.
  assert.equal(historyFiles(C)['docs/x.md'], undefined);
  assert.equal(historyFiles(A)['a.txt'], undefined);

  r = await runFerry(['sync', '--json', A, B, C]);
  assert.equal(r.code, 0, stdoutAndErr(r));
  assert.equal(doneSummary(r.stdout).copied, 0);
  assert.equal(doneSummary(r.stdout).deleted, 0);
});

test('thousands of files go in several batches applied two at a time; every replaced file is in history', async (t) => {
  const d = scratch(t, 'batches');
  const [A, B] = ['A', 'B'].map((n) => join(d, n)) as [string, string];
  // More files than one batch holds (engine/write-files.ts BATCH_FILES), so batches overlap.
  const names = Array.from({ length: 4100 }, (_, i) => `d${i % 30}/f${i}.txt`);
  const tree = (v: string) => Object.fromEntries(names.map((n) => [n, `${n} ${v}`]));
  writeTree(A, tree('v1'));
  let r = await runFerry(['sync', A, B]);
  assert.equal(r.code, 0, stdoutAndErr(r));
  assertSame([A, B]);

  writeTree(A, tree('v2, longer'));
  r = await runFerry(['sync', '--json', A, B]);
  assert.equal(r.code, 0, stdoutAndErr(r));
  assert.equal(doneSummary(r.stdout).copied, names.length);
  assert.equal(readTree(B)[names[4099] ?? ''], `${names[4099]} v2, longer`);
  assertSame([A, B]);
  const kept = historyFiles(B);
  assert.equal(Object.keys(kept).length, names.length);
  for (const n of names) assert.deepEqual(kept[n], [`${n} v1`], n);

  r = await runFerry(['sync', '--json', A, B]);
  assert.equal(r.code, 0, stdoutAndErr(r));
  assert.equal(doneSummary(r.stdout).copied, 0);
});

test('symlinks are synced as links and never followed, even when they point outside the root', async (t) => {
  const d = scratch(t, 'links');
  const A = join(d, 'A');
  const B = join(d, 'B');
  writeTree(join(d, 'outside'), { 'secret.txt': 'TOPSECRET-OUTSIDE', sub: { 'deep.txt': 'TOPSECRET-DEEP' } });
  writeTree(A, {
    'a.txt': 'a',
    'to-secret': { link: '../outside/secret.txt' },
    'to-dir': { link: '../outside' },
    'abs-dir': { link: join(d, 'outside', 'sub') },
    'to-a': { link: 'a.txt' },
    dangling: { link: 'does/not/exist' },
  });
  const r = await runFerry(['sync', A, B]);
  assert.equal(r.code, 0, stdoutAndErr(r));
  const tree = assertSame([A, B]);
  assert.deepEqual(tree, {
    'a.txt': 'a',
    'abs-dir': { link: join(d, 'outside', 'sub') },
    dangling: { link: 'does/not/exist' },
    'to-a': { link: 'a.txt' },
    'to-dir': { link: '../outside' },
    'to-secret': { link: '../outside/secret.txt' },
  });
  // Nothing in B (metadata included) is a real file holding the outside content.
  for (const [p, v] of Object.entries(readTree(B, { includeMeta: true }))) {
    if (typeof v === 'string') assert.doesNotMatch(v, /TOPSECRET/, p);
  }
  assert.equal(fs.lstatSync(join(B, 'to-dir')).isSymbolicLink(), true);

  // Retarget a link on B: the change travels as a link change.
  fs.rmSync(join(B, 'to-a'));
  fs.symlinkSync('to-secret', join(B, 'to-a'));
  const r2 = await runFerry(['sync', A, B]);
  assert.equal(r2.code, 0, stdoutAndErr(r2));
  assert.deepEqual(readTree(A)['to-a'], { link: 'to-secret' });
  assert.deepEqual(readTree(join(d, 'outside')), {
    'secret.txt': 'TOPSECRET-OUTSIDE',
    sub: DIR,
    'sub/deep.txt': 'TOPSECRET-DEEP',
  });
});

test('a folder replaced by a symlink to outside is never written through', async (t) => {
  const d = scratch(t, 'escape');
  const A = join(d, 'A');
  const B = join(d, 'B');
  const outside = join(d, 'outside');
  fs.mkdirSync(outside);
  writeTree(A, { d: { 'one.txt': 'one' } });
  let r = await runFerry(['sync', A, B]);
  assert.equal(r.code, 0, stdoutAndErr(r));
  fs.rmSync(join(B, 'd'), { recursive: true });
  fs.symlinkSync('../outside', join(B, 'd'));
  fs.writeFileSync(join(A, 'd', 'new.txt'), 'new');
  r = await runFerry(['sync', A, B]);
  assert.ok(r.code === 0 || r.code === 1, stdoutAndErr(r));
  assert.deepEqual(fs.readdirSync(outside), [], 'nothing may be written through the link');
  r = await runFerry(['sync', A, B]);
  assert.deepEqual(fs.readdirSync(outside), []);
  assert.deepEqual(readTree(A), readTree(B));
  // The new file survives somewhere as a real file.
  const a = readTree(A);
  assert.ok(
    Object.entries(a).some(([p, v]) => p.endsWith('new.txt') && v === 'new'),
    JSON.stringify(a),
  );
});

test('exec bit and mtime are preserved', async (t) => {
  const d = scratch(t, 'attrs');
  const A = join(d, 'A');
  const B = join(d, 'B');
  const old = Date.UTC(2001, 8, 9, 1, 46, 40, 123);
  writeTree(A, {
    'run.sh': { content: '#!/bin/sh\necho hi\n', mode: 0o755, mtime: old },
    'data.txt': { content: 'data', mode: 0o644, mtime: old + 86_400_000.5 },
    bin: { tool: { content: 'x', mode: 0o700, mtime: old - 1000 } },
  });
  const r = await runFerry(['sync', A, B]);
  assert.equal(r.code, 0, stdoutAndErr(r));
  for (const p of ['run.sh', 'data.txt', 'bin/tool']) {
    const a = fs.statSync(join(A, p));
    const b = fs.statSync(join(B, p));
    assert.ok(Math.abs(a.mtimeMs - b.mtimeMs) <= 1, `${p}: mtime ${a.mtimeMs} vs ${b.mtimeMs}`);
    assert.equal(b.mode & 0o111 ? 1 : 0, a.mode & 0o111 ? 1 : 0, `${p}: exec bit`);
  }
  assert.notEqual(fs.statSync(join(B, 'run.sh')).mode & 0o111, 0);
  assert.equal(fs.statSync(join(B, 'data.txt')).mode & 0o111, 0);

  // Flipping only the exec bit is a change that syncs.
  fs.chmodSync(join(B, 'run.sh'), 0o644);
  fs.chmodSync(join(B, 'data.txt'), 0o755);
  const r2 = await runFerry(['sync', A, B]);
  assert.equal(r2.code, 0, stdoutAndErr(r2));
  assert.equal(fs.statSync(join(A, 'run.sh')).mode & 0o111, 0);
  assert.notEqual(fs.statSync(join(A, 'data.txt')).mode & 0o111, 0);
  assert.equal(fs.readFileSync(join(A, 'run.sh'), 'utf8'), '#!/bin/sh\necho hi\n');
});

test('--dry-run writes nothing, creates no .ferry, and lists the planned items', async (t) => {
  const d = scratch(t, 'dry');
  const A = join(d, 'A');
  const B = join(d, 'B');
  const C = join(d, 'C');
  const N = join(d, 'never-made');
  writeTree(A, { 'a.txt': 'a', dir: { 'inner.txt': 'inner' } });
  writeTree(B, { 'b.txt': 'b' });
  // First: fresh roots, one of them missing.
  const before = [fingerprint(A), fingerprint(B)];
  let r = await runFerry(['sync', '--dry-run', A, B, N]);
  assert.equal(r.code, 0, stdoutAndErr(r));
  assert.deepEqual([fingerprint(A), fingerprint(B)], before);
  assert.equal(fs.existsSync(join(A, '.ferry')), false);
  assert.equal(fs.existsSync(join(B, '.ferry')), false);
  assert.equal(fs.existsSync(N), false);
  for (const p of ['a.txt', 'dir/inner.txt', 'b.txt'])
    assert.ok(r.stdout.includes(p), `${p} in\n${r.stdout}`);
  assert.match(r.stdout, /dry run/);

  // Then: roots synced before, with pending changes of every kind.
  r = await runFerry(['sync', A, B, C]);
  assert.equal(r.code, 0, stdoutAndErr(r));
  fs.writeFileSync(join(A, 'a.txt'), 'a2');
  fs.rmSync(join(B, 'b.txt'));
  fs.writeFileSync(join(C, 'c.txt'), 'c');
  const snap = [A, B, C].map((x) => fingerprint(x));
  r = await runFerry(['sync', '-n', '--json', A, B, C]);
  assert.equal(r.code, 0, stdoutAndErr(r));
  assert.deepEqual(
    [A, B, C].map((x) => fingerprint(x)),
    snap,
  );
  const items = eventsOf(r.stdout, 'item').map(
    (e) => `${String(e.action)} ${String(e.root)} ${String(e.path)}`,
  );
  assert.ok(items.includes(`update ${B} a.txt`) || items.includes(`copy ${B} a.txt`), items.join('\n'));
  assert.ok(items.includes(`delete ${A} b.txt`), items.join('\n'));
  assert.ok(items.includes(`copy ${A} c.txt`), items.join('\n'));
  const s = doneSummary(r.stdout);
  assert.equal(s.dryRun, true);
  assert.equal(s.deleted, 2);
});

test('--json: every line is an object, the last is done; -q prints nothing on success', async (t) => {
  const d = scratch(t, 'json');
  const A = join(d, 'A');
  const B = join(d, 'B');
  writeTree(A, { 'one.txt': '1', sub: { 'two.txt': '22' } });
  const r = await runFerry(['sync', '--json', A, B]);
  assert.equal(r.code, 0, stdoutAndErr(r));
  assert.equal(r.stderr, '');
  const lines = jsonLines(r.stdout);
  const types = new Set(lines.map((l) => l.type));
  for (const ty of ['start', 'scanned', 'plan', 'item', 'done']) assert.ok(types.has(ty), `${ty} event`);
  assert.equal(lines[0]?.type, 'start');
  assert.equal(lines.at(-1)?.type, 'done');
  const s = doneSummary(r.stdout);
  assert.equal(s.roots, 2);
  assert.equal(s.copied, 2);
  assert.equal(s.dirsMade, 1);
  assert.equal(s.bytesTransferred, 3);
  assert.equal(s.inSync, true);

  fs.writeFileSync(join(B, 'three.txt'), '333');
  const q = await runFerry(['sync', '-q', A, B]);
  assert.equal(q.code, 0);
  assert.equal(q.stdout, '');
  assert.equal(q.stderr, '');
  assert.equal(fs.readFileSync(join(A, 'three.txt'), 'utf8'), '333');
});

test('--exclude and .ferryignore keep paths out; .ferryignore itself syncs', async (t) => {
  const d = scratch(t, 'ignore');
  const A = join(d, 'A');
  const B = join(d, 'B');
  writeTree(A, {
    '.ferryignore': 'build/\n*.tmp\n',
    'app.log': 'log',
    'keep.txt': 'keep',
    build: { 'out.o': 'obj' },
    'x.tmp': 'tmp',
    sub: { 'deep.log': 'log', 'deep.txt': 'deep', 'y.tmp': 'tmp' },
  });
  writeTree(B, { 'b.log': 'b log', 'b.txt': 'b' });
  const r = await runFerry(['sync', '--exclude', '*.log', A, B]);
  assert.equal(r.code, 0, stdoutAndErr(r));
  assert.deepEqual(readTree(B), {
    '.ferryignore': 'build/\n*.tmp\n',
    'b.log': 'b log',
    'b.txt': 'b',
    'keep.txt': 'keep',
    sub: DIR,
    'sub/deep.txt': 'deep',
  });
  const a = readTree(A);
  assert.equal(a['b.txt'], 'b');
  assert.equal(a['b.log'], undefined);
  assert.equal(a['app.log'], 'log', 'ignored files stay where they are');

  // A .ferryignore written on B applies to every root on the next run.
  fs.writeFileSync(join(B, '.ferryignore'), 'build/\n*.tmp\nsecret*\n');
  fs.writeFileSync(join(A, 'secret.key'), 'k');
  const r2 = await runFerry(['sync', '--exclude', '*.log', A, B]);
  assert.equal(r2.code, 0, stdoutAndErr(r2));
  assert.equal(fs.readFileSync(join(A, '.ferryignore'), 'utf8'), 'build/\n*.tmp\nsecret*\n');
  assert.equal(fs.existsSync(join(B, 'secret.key')), false);
});

test('a .ferryignore that is a symlink is synced as a link and never read through', async (t) => {
  const d = scratch(t, 'ignore-link');
  const [A, B] = [join(d, 'A'), join(d, 'B')];
  fs.writeFileSync(join(d, 'outside-rules'), '*\n');
  writeTree(A, { 'a.txt': 'a' });
  fs.symlinkSync(join(d, 'outside-rules'), join(A, '.ferryignore'));
  const r = await runFerry(['sync', A, B]);
  assert.equal(r.code, 0, stdoutAndErr(r));
  assert.equal(fs.readFileSync(join(B, 'a.txt'), 'utf8'), 'a', 'the rules outside the root do not apply');
  assert.equal(fs.readlinkSync(join(B, '.ferryignore')), join(d, 'outside-rules'));
});

test('a FIFO is reported as a problem and skipped (exit 1); everything else syncs', async (t) => {
  const d = scratch(t, 'fifo');
  const A = join(d, 'A');
  const B = join(d, 'B');
  writeTree(A, { 'a.txt': 'a', sub: { 'b.txt': 'b' } });
  const mk = spawnSync('mkfifo', [join(A, 'sub', 'pipe')]);
  assert.equal(mk.status, 0);
  const r = await runFerry(['sync', A, B]);
  assert.equal(r.code, 1, stdoutAndErr(r));
  assert.match(r.stderr, /sub\/pipe.*special-file/);
  assert.deepEqual(readTree(B), { 'a.txt': 'a', sub: DIR, 'sub/b.txt': 'b' });

  const j = await runFerry(['sync', '--json', A, B]);
  assert.equal(j.code, 1);
  const problems = eventsOf(j.stdout, 'problem').map((e) => e.problem as Record<string, unknown>);
  assert.deepEqual(
    problems.map((p) => [p.path, p.code, p.root]),
    [['sub/pipe', 'special-file', A]],
  );
  assert.equal(doneSummary(j.stdout).problems, 1);
});

test('odd names sync: spaces, newline, leading dash, unicode, 255-byte name; output is escaped', async (t) => {
  const d = scratch(t, 'names');
  const A = join(d, 'A');
  const B = join(d, 'B');
  const long = `${'x'.repeat(251)}.txt`;
  assert.equal(Buffer.byteLength(long), 255);
  const names: Record<string, string> = {
    'with space.txt': 'space',
    'line1\nline2-INJECTED.txt': 'newline',
    '-rf': 'dash',
    '--help': 'dashdash',
    'été 😀 日本.txt': 'unicode',
    'esc\x1b[31mred': 'escape',
    'tab\there': 'tab',
    'back\\slash': 'backslash',
    [long]: 'long',
  };
  writeTree(A, { ...names, 'dir with\nnewline': { 'inner\x1b]0;title\x07': 'inner' } });
  const r = await runFerry(['sync', '-v', A, B]);
  assert.equal(r.code, 0, stdoutAndErr(r));
  assert.deepEqual(readTree(B), readTree(A));
  for (const [n, c] of Object.entries(names)) assert.equal(fs.readFileSync(join(B, n), 'utf8'), c);

  const out = stdoutAndErr(r);
  assert.equal(out.includes('\x1b'), false, 'no raw ESC in output');
  assert.equal(out.includes('\x07'), false, 'no raw BEL in output');
  assert.equal(out.includes('\t'), false, 'no raw TAB in output');
  for (const line of out.split('\n')) {
    assert.equal(line.startsWith('line2-INJECTED'), false, 'a name must not start a new output line');
    assert.equal(line.startsWith('newline/'), false, 'a name must not start a new output line');
  }
  assert.ok(r.stdout.includes('line1\\x0aline2-INJECTED.txt'), r.stdout);
  assert.ok(r.stdout.includes('esc\\x1b[31mred'), r.stdout);

  // A later change to an odd name also travels, and a dry run prints it escaped too.
  fs.writeFileSync(join(B, 'line1\nline2-INJECTED.txt'), 'changed');
  const n = await runFerry(['sync', '-n', A, B]);
  assert.equal(n.code, 0);
  assert.ok(n.stdout.includes('line1\\x0aline2-INJECTED.txt'), n.stdout);
  const r2 = await runFerry(['sync', A, B]);
  assert.equal(r2.code, 0, stdoutAndErr(r2));
  assert.equal(fs.readFileSync(join(A, 'line1\nline2-INJECTED.txt'), 'utf8'), 'changed');
});

test('problems naming odd files are escaped on stderr', async (t) => {
  const d = scratch(t, 'escprob');
  const A = join(d, 'A');
  const B = join(d, 'B');
  writeTree(A, { 'ok.txt': 'ok' });
  const fifo = join(A, 'pipe\x1b[2J\nFAKE: all good');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const r = await runFerry(['sync', A, B]);
  assert.equal(r.code, 1, stdoutAndErr(r));
  const out = stdoutAndErr(r);
  assert.equal(out.includes('\x1b'), false);
  assert.equal(
    out.split('\n').some((l) => l.startsWith('FAKE')),
    false,
  );
  assert.ok(r.stderr.includes('pipe\\x1b[2J\\x0aFAKE: all good'), r.stderr);
});

test('a non-UTF-8 name is a per-path problem (exit 1) and the other files sync', async (t) => {
  const d = scratch(t, 'badname');
  const A = join(d, 'A');
  const B = join(d, 'B');
  writeTree(A, { 'good.txt': 'good', sub: { 'fine.txt': 'fine' } });
  fs.writeFileSync(Buffer.concat([Buffer.from(`${A}/`), Buffer.from([0x66, 0xff, 0x2e, 0x74])]), 'bad bytes');
  fs.writeFileSync(Buffer.concat([Buffer.from(`${A}/sub/`), Buffer.from([0xc3, 0x28])]), 'bad 2');
  const r = await runFerry(['sync', '--json', A, B]);
  assert.equal(r.code, 1, stdoutAndErr(r));
  const problems = eventsOf(r.stdout, 'problem').map((e) => e.problem as Record<string, unknown>);
  assert.equal(problems.length, 2, JSON.stringify(problems));
  assert.ok(problems.every((p) => p.code === 'bad-name' && p.root === A));
  assert.deepEqual(readTree(B), { 'good.txt': 'good', sub: DIR, 'sub/fine.txt': 'fine' });
  // Nothing was created with a mangled name on B.
  assert.deepEqual(fs.readdirSync(B, { encoding: 'buffer' }).length, 3); // .ferry good.txt sub

  // Deleting a good file still works while the bad name stays (and stays unsynced).
  fs.rmSync(join(B, 'good.txt'));
  const r2 = await runFerry(['sync', A, B]);
  assert.equal(r2.code, 1, stdoutAndErr(r2));
  assert.equal(fs.existsSync(join(A, 'good.txt')), false);
  assert.match(r2.stderr, /bad-name/);
  assert.equal(
    fs.readFileSync(Buffer.concat([Buffer.from(`${A}/`), Buffer.from([0x66, 0xff, 0x2e, 0x74])]), 'utf8'),
    'bad bytes',
  );
});

test('a file replaced by a folder and a folder by a file sync across roots', async (t) => {
  const d = scratch(t, 'kinds');
  const A = join(d, 'A');
  const B = join(d, 'B');
  writeTree(A, { thing: 'was a file', box: { 'inside.txt': 'in' } });
  let r = await runFerry(['sync', A, B]);
  assert.equal(r.code, 0, stdoutAndErr(r));
  fs.rmSync(join(A, 'thing'));
  writeTree(A, { thing: { 'now.txt': 'a folder' } });
  fs.rmSync(join(A, 'box'), { recursive: true });
  fs.writeFileSync(join(A, 'box'), 'now a file');
  r = await runFerry(['sync', A, B]);
  assert.equal(r.code, 0, stdoutAndErr(r));
  assert.deepEqual(readTree(B), { box: 'now a file', thing: DIR, 'thing/now.txt': 'a folder' });
  assert.deepEqual(historyFiles(B).thing, ['was a file']);
  assert.deepEqual(historyFiles(B)['box/inside.txt'], ['in']);
});

test('a path excluded after it was synced is forgotten, never deleted on the other roots', async (t) => {
  const d = scratch(t, 'newlyignored');
  const A = join(d, 'A');
  const B = join(d, 'B');
  writeTree(A, { 'app.log': 'log v1', 'keep.txt': 'keep' });
  let r = await runFerry(['sync', A, B]);
  assert.equal(r.code, 0, stdoutAndErr(r));
  fs.rmSync(join(A, 'app.log'));
  fs.writeFileSync(join(A, 'keep.txt'), 'keep v2');
  r = await runFerry(['sync', '--exclude', '*.log', A, B]);
  assert.equal(r.code, 0, stdoutAndErr(r));
  assert.equal(fs.readFileSync(join(B, 'app.log'), 'utf8'), 'log v1', 'an ignored path is never deleted');
  assert.equal(fs.readFileSync(join(B, 'keep.txt'), 'utf8'), 'keep v2');
});

test('a root inside another root: its .ferry is never copied, so no second folder gets its replica id', async (t) => {
  const d = scratch(t, 'nested-meta');
  const [home, laptop, backup] = [join(d, 'home'), join(d, 'laptop-work'), join(d, 'backup')];
  writeTree(home, { work: { 'doc.txt': 'w' }, 'top.txt': 't' });
  let r = await runFerry(['sync', join(home, 'work'), laptop]);
  assert.equal(r.code, 0, stdoutAndErr(r));
  r = await runFerry(['sync', home, backup]);
  assert.equal(r.code, 0, stdoutAndErr(r));
  assert.equal(fs.readFileSync(join(backup, 'work', 'doc.txt'), 'utf8'), 'w');
  assert.equal(fs.existsSync(join(backup, 'work', '.ferry')), false, 'the nested replica state stays home');
  // A .ferry folder already in the other root (an older ferry copied it) is left alone there.
  fs.mkdirSync(join(backup, 'work', '.ferry', 'x'), { recursive: true });
  fs.writeFileSync(join(backup, 'work', '.ferry', 'x', 'f'), 'kept');
  r = await runFerry(['sync', home, backup]);
  assert.equal(r.code, 0, stdoutAndErr(r));
  assert.equal(fs.readFileSync(join(backup, 'work', '.ferry', 'x', 'f'), 'utf8'), 'kept');
  assert.equal(fs.existsSync(join(home, 'work', '.ferry', 'x')), false);
});

test('large files: a small change in the middle and a rename reuse the bytes already there', async (t) => {
  const d = scratch(t, 'delta');
  const A = join(d, 'A');
  const B = join(d, 'B');
  const big = Buffer.alloc(6 * 1024 * 1024);
  let x = 12345;
  for (let i = 0; i < big.length; i += 4) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    big.writeUInt32LE(x, i);
  }
  writeTree(A, { 'big.bin': big });
  let r = await runFerry(['sync', '--json', A, B]);
  assert.equal(r.code, 0, stdoutAndErr(r));
  assert.equal(doneSummary(r.stdout).bytesTransferred, big.length);

  Buffer.from('a small edit in the middle of a big file').copy(big, 3 * 1024 * 1024);
  fs.writeFileSync(join(A, 'big.bin'), big);
  r = await runFerry(['sync', '--json', A, B]);
  assert.equal(r.code, 0, stdoutAndErr(r));
  let s = doneSummary(r.stdout);
  assert.ok(s.bytesTransferred < 1024 * 1024, `sent ${s.bytesTransferred}`);
  assert.ok(s.bytesReused > 4 * 1024 * 1024, `reused ${s.bytesReused}`);
  assert.ok(fs.readFileSync(join(B, 'big.bin')).equals(big));
  assert.equal(historyFiles(B)['big.bin']?.length, 1, 'the replaced version is in history');

  fs.mkdirSync(join(A, 'moved'));
  fs.renameSync(join(A, 'big.bin'), join(A, 'moved', 'renamed.bin'));
  r = await runFerry(['sync', '--json', A, B]);
  assert.equal(r.code, 0, stdoutAndErr(r));
  s = doneSummary(r.stdout);
  assert.equal(s.bytesTransferred, 0);
  assert.ok(fs.readFileSync(join(B, 'moved', 'renamed.bin')).equals(big));
  assert.equal(fs.existsSync(join(B, 'big.bin')), false);
});

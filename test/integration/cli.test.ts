import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT, runFerry } from '../helpers/cli.ts';
import { fingerprint, readTree, scratch, writeTree } from '../helpers/tree.ts';

function out(r: { stdout: string; stderr: string }): string {
  return `${r.stdout}\n${r.stderr}`;
}

test('--help exits 0 and mentions sync and status; sync --help lists its options', async () => {
  const r = await runFerry(['--help']);
  assert.equal(r.code, 0, out(r));
  assert.match(r.stdout, /\bsync\b/);
  assert.match(r.stdout, /\bstatus\b/);
  const s = await runFerry(['sync', '--help']);
  assert.equal(s.code, 0, out(s));
  for (const o of [
    '--dry-run',
    '--json',
    '--exclude',
    '--mode',
    '--conflict',
    '--force',
    '--quiet',
    '--verbose',
  ])
    assert.ok(s.stdout.includes(o), `${o} in sync --help`);
});

test('--version prints the package.json version', async () => {
  const pkg = JSON.parse(fs.readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const r = await runFerry([flag]);
    assert.equal(r.code, 0, out(r));
    assert.equal(r.stdout.trim(), pkg.version);
  }
});

test('bad command lines exit 2 with a message and create nothing', async (t) => {
  const d = scratch(t, 'usage');
  const A = join(d, 'A');
  const B = join(d, 'B');
  writeTree(A, { 'a.txt': 'a', sub: { 'x.txt': 'x' } });
  fs.writeFileSync(join(d, 'plain-file'), 'i am a file');
  fs.symlinkSync(A, join(d, 'link-to-A'));
  fs.symlinkSync(join(A, 'not-yet'), join(d, 'dangling'));
  const cases: { args: string[]; msg: RegExp }[] = [
    { args: ['--bogus'], msg: /unknown option/ },
    { args: ['sync', '--bogus', A, B], msg: /unknown option '--bogus'/ },
    { args: ['frobnicate'], msg: /unknown command|frobnicate/ },
    { args: ['sync', A], msg: /at least two roots/ },
    { args: ['sync'], msg: /missing required argument|roots/ },
    { args: ['sync', '--conflict', 'prefer=nope', A, B], msg: /prefer=nope.*not one of the roots/ },
    { args: ['sync', '--conflict', 'random', A, B], msg: /unknown conflict rule/ },
    { args: ['sync', '--mode', 'backup', A, B], msg: /backup.*invalid|Allowed choices/ },
    { args: ['sync', A, A], msg: /given twice/ },
    { args: ['sync', A, join(A, 'sub')], msg: /must not nest/ },
    // Through a symlink: the same folder, or one inside the other, all the same.
    { args: ['sync', A, join(d, 'link-to-A')], msg: /are the same folder/ },
    { args: ['sync', join(d, 'link-to-A'), join(A, 'sub')], msg: /must not nest/ },
    { args: ['sync', join(d, 'link-to-A', 'sub', 'new'), A], msg: /must not nest/ },
    { args: ['sync', A, join(d, 'dangling')], msg: /symbolic link to .*not-yet, which does not exist/ },
    // Remote roots are supported now; a host name ssh could misread is still refused.
    { args: ['sync', A, 'bad host:/data'], msg: /not a valid host name/ },
    { args: ['sync', join(d, 'plain-file'), A], msg: /same file name|folder/ },
    { args: ['status'], msg: /missing required argument/ },
  ];
  for (const c of cases) {
    const r = await runFerry(c.args, { cwd: d });
    assert.equal(r.code, 2, `${c.args.join(' ')}: ${out(r)}`);
    assert.match(r.stderr, c.msg, c.args.join(' '));
    assert.equal(r.stdout.includes('synced'), false);
  }
  assert.equal(fs.existsSync(B), false);
  assert.equal(fs.existsSync(join(A, '.ferry')), false);
});

test('a root that is a regular file together with a folder of the same name exits 2', async (t) => {
  const d = scratch(t, 'filedir');
  writeTree(d, { one: { conf: 'a file' }, two: { conf: { 'inner.txt': 'a folder' } } });
  const before = fingerprint(d);
  for (const args of [
    [join(d, 'one', 'conf'), join(d, 'two', 'conf')],
    [join(d, 'two', 'conf'), join(d, 'one', 'conf')],
  ]) {
    const r = await runFerry(['sync', ...args], { env: { XDG_STATE_HOME: join(d, 'state') } });
    assert.equal(r.code, 2, out(r));
    assert.match(r.stderr, /folder/);
  }
  assert.deepEqual(fingerprint(d), before);
});

test('single-file sync copies the file and keeps its state in $XDG_STATE_HOME, not next to it', async (t) => {
  const d = scratch(t, 'single');
  const state = join(d, 'state');
  const env = { XDG_STATE_HOME: state };
  writeTree(join(d, 'dir1'), {
    '.bashrc': { content: 'alias ll="ls -l"\n', mode: 0o755, mtime: Date.UTC(2019, 4, 5, 6, 7, 8, 9) },
    'unrelated.txt': 'must not travel',
  });
  fs.mkdirSync(join(d, 'dir2'));
  const f1 = join(d, 'dir1', '.bashrc');
  const f2 = join(d, 'dir2', '.bashrc');
  const r = await runFerry(['sync', f1, f2], { env });
  assert.equal(r.code, 0, out(r));
  assert.equal(fs.readFileSync(f2, 'utf8'), 'alias ll="ls -l"\n');
  assert.ok(Math.abs(fs.statSync(f2).mtimeMs - fs.statSync(f1).mtimeMs) <= 1);
  assert.notEqual(fs.statSync(f2).mode & 0o111, 0);
  assert.deepEqual(fs.readdirSync(join(d, 'dir2')), ['.bashrc'], 'only the file, no .ferry, nothing else');
  assert.deepEqual(fs.readdirSync(join(d, 'dir1')).sort(), ['.bashrc', 'unrelated.txt']);
  assert.ok(fs.existsSync(join(state, 'ferry')), 'state lives under $XDG_STATE_HOME/ferry');
  const ids = fs.readdirSync(join(state, 'ferry', 'files'));
  assert.equal(ids.length, 2, 'one state folder per single-file root');

  // An edit on either side travels back; the replaced version is kept in that replica's history.
  fs.writeFileSync(f2, 'alias ll="ls -la"\n');
  const r2 = await runFerry(['sync', '--json', f1, f2], { env });
  assert.equal(r2.code, 0, out(r2));
  assert.equal(fs.readFileSync(f1, 'utf8'), 'alias ll="ls -la"\n');
  assert.deepEqual(fs.readdirSync(join(d, 'dir1')).sort(), ['.bashrc', 'unrelated.txt']);
  const kept = Object.values(
    Object.fromEntries(
      fs
        .readdirSync(join(state, 'ferry', 'files'))
        .flatMap((k) => Object.entries(readTree(join(state, 'ferry', 'files', k), { includeMeta: true }))),
    ),
  );
  assert.ok(kept.includes('alias ll="ls -l"\n'), 'old version kept in the state folder history');

  // Status works on a single file too.
  const st = await runFerry(['status', '--json', f1], { env });
  assert.equal(st.code, 0, out(st));
  const js = JSON.parse(st.stdout) as { entries: number; peers: { label: string }[] };
  assert.equal(js.entries, 1);
  assert.deepEqual(
    js.peers.map((p) => p.label),
    [f2],
  );
  // A second run is a no-op.
  const r3 = await runFerry(['sync', '-q', f1, f2], { env });
  assert.equal(r3.code, 0, out(r3));
  assert.equal(r3.stdout, '');
});

test('a single file deleted on every root stays deleted: no folder appears in its place', async (t) => {
  const d = scratch(t, 'single-gone');
  const env = { XDG_STATE_HOME: join(d, 'state') };
  writeTree(d, { a: { '.profile': 'x=1\n' }, b: {} });
  const [fa, fb] = [join(d, 'a', '.profile'), join(d, 'b', '.profile')];
  const r1 = await runFerry(['sync', fa, fb], { env });
  assert.equal(r1.code, 0, out(r1));
  fs.rmSync(fa);
  fs.rmSync(fb);
  const r2 = await runFerry(['sync', fa, fb], { env });
  assert.equal(r2.code, 0, out(r2));
  assert.deepEqual(readTree(join(d, 'a')), {});
  assert.deepEqual(readTree(join(d, 'b')), {});
});

test('single-file sync into a folder that does not exist yet creates it, like a new folder root', async (t) => {
  const d = scratch(t, 'single-new');
  const env = { XDG_STATE_HOME: join(d, 'state') };
  writeTree(join(d, 'dir1'), { '.vimrc': 'set nu\n' });
  const f1 = join(d, 'dir1', '.vimrc');
  const f3 = join(d, 'not', 'yet', '.vimrc');
  const r = await runFerry(['sync', f1, f3], { env });
  assert.equal(r.code, 0, out(r));
  assert.equal(fs.readFileSync(f3, 'utf8'), 'set nu\n');
  assert.deepEqual(fs.readdirSync(join(d, 'not', 'yet')), ['.vimrc']);
});

test('a link that dies before the remote ferry answers is blamed on the right process', async (t) => {
  const d = scratch(t, 'ssh-blame');
  const A = join(d, 'A');
  writeTree(A, { 'a.txt': 'a' });
  const fake = (name: string, body: string) => {
    const p = join(d, name);
    fs.writeFileSync(p, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    return p;
  };
  const killed = await runFerry(['sync', '-e', fake('ssh-killed', 'kill -KILL $$'), A, 'hosta:/x']);
  assert.equal(killed.code, 4, out(killed));
  assert.match(killed.stderr, /the ssh process on this machine was killed by SIGKILL/);
  // ssh's 255 without a word: its own failure, or a remote command killed by a signal.
  const silent = await runFerry(['sync', '-e', fake('ssh-255', 'exit 255'), A, 'hosta:/x']);
  assert.equal(silent.code, 4, out(silent));
  assert.match(silent.stderr, /ssh to hosta failed, or the remote ferry was stopped before it answered/);
  assert.equal(fs.existsSync(join(A, '.ferry')), false, 'the local root is untouched');
});

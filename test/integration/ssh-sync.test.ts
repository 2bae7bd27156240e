import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { doneSummary, FERRY_BIN, runFerry } from '../helpers/cli.ts';
import { useSshd } from '../helpers/sshd.ts';
import {
  conflictCopies,
  DIR,
  readTree,
  scratch,
  sha256,
  type TreeSnapshot,
  writeTree,
} from '../helpers/tree.ts';

// Every host alias of the harness is this machine: hosta:/x and hostb:/y are local folders reached
// through a real sshd, so the trees can be checked directly.

const VERSION = (
  JSON.parse(fs.readFileSync(join(FERRY_BIN, '..', '..', 'package.json'), 'utf8')) as {
    version: string;
  }
).version;

function out(r: { stdout: string; stderr: string }): string {
  return `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

function assertSame(roots: readonly string[]): TreeSnapshot {
  const [first, ...rest] = roots.map((r) => readTree(r));
  for (const [i, t] of rest.entries()) assert.deepEqual(t, first, `${roots[i + 1]} differs from ${roots[0]}`);
  return first ?? {};
}

describe('roots on other hosts over ssh', () => {
  const s = useSshd({ before, after });

  test('three roots, one local and two remote: creates, edits, deletes and a conflict converge', async (t) => {
    const d = scratch(t, 'ssh3');
    const [A, B, C] = ['A', 'B', 'C'].map((n) => join(d, n)) as [string, string, string];
    writeTree(A, { 'a.txt': 'from A', docs: { 'x.md': 'x' }, 'gone.txt': 'bye' });
    writeTree(B, { 'b.txt': 'from B', docs: { 'y.md': 'y' } });
    const roots = [A, `hosta:${B}`, `hostb:${C}`];

    const r1 = await runFerry(['sync', '--json', '-e', s.ssh, ...roots]);
    assert.equal(r1.code, 0, out(r1));
    assert.deepEqual(assertSame([A, B, C]), {
      'a.txt': 'from A',
      'b.txt': 'from B',
      docs: DIR,
      'docs/x.md': 'x',
      'docs/y.md': 'y',
      'gone.txt': 'bye',
    });

    // An edit on a remote root, a delete on the other, a new file locally, and one file changed
    // two ways (a conflict).
    fs.writeFileSync(join(B, 'docs', 'x.md'), 'x edited on B');
    fs.rmSync(join(C, 'gone.txt'));
    fs.writeFileSync(join(A, 'new.txt'), 'new on A');
    fs.writeFileSync(join(A, 'a.txt'), 'A says');
    fs.writeFileSync(join(C, 'a.txt'), 'C says');
    // FERRY_RSH works like RSYNC_RSH.
    const r2 = await runFerry(['sync', '--json', ...roots], { env: { FERRY_RSH: s.ssh } });
    assert.equal(r2.code, 1, out(r2)); // finished, with a conflict
    const s2 = doneSummary(r2.stdout);
    assert.equal(s2.conflicts, 1);
    const tree = assertSame([A, B, C]);
    assert.equal(tree['docs/x.md'], 'x edited on B');
    assert.equal(tree['new.txt'], 'new on A');
    assert.equal(tree['gone.txt'], undefined);
    const copies = conflictCopies(A);
    assert.equal(copies.length, 1, JSON.stringify(tree));
    const versions = [tree['a.txt'], tree[copies[0] as string]].sort();
    assert.deepEqual(versions, ['A says', 'C says']);

    const r3 = await runFerry(['sync', '--json', '-e', s.ssh, ...roots]);
    assert.equal(r3.code, 0, out(r3));
    const s3 = doneSummary(r3.stdout);
    assert.equal(s3.copied + s3.deleted, 0);
    assert.equal(s3.inSync, true);
  });

  test('remote to remote: content is relayed through this host, large files included', async (t) => {
    const d = scratch(t, 'ssh-r2r');
    const P1 = join(d, 'p1');
    const P2 = join(d, 'p 2');
    const big = Buffer.alloc(9 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE((i * 2654435761) >>> 0, i);
    writeTree(P1, { 'small.txt': 'small', sub: { 'big.bin': big } });
    writeTree(P2, { 'other.txt': 'other' });
    const roots = [`hosta:${P1}`, `ssh://hostb${P2}`];
    // -e is split like rsync's: quotes keep a config path with a space in one word.
    const spaced = join(d, 'ssh config');
    fs.copyFileSync(s.h.configPath, spaced);
    const quoted = `ssh -F "${spaced}" -o 'SetEnv=XDG_CACHE_HOME=${s.cache}'`;
    const r1 = await runFerry(['sync', '--json', '-e', quoted, ...roots]);
    assert.equal(r1.code, 0, out(r1));
    assert.equal(sha256(fs.readFileSync(join(P2, 'sub', 'big.bin'))), sha256(big));
    assert.equal(fs.readFileSync(join(P1, 'other.txt'), 'utf8'), 'other');
    assertSame([P1, P2]);

    const r2 = await runFerry(['sync', '--json', '-e', s.ssh, ...roots]);
    assert.equal(r2.code, 0, out(r2));
    assert.equal(doneSummary(r2.stdout).inSync, true);
  });

  test('zero install: the agent is uploaded once into the cache, verified, and reused', async (t) => {
    const d = scratch(t, 'ssh-upload');
    const own = fs.mkdtempSync(join(d, 'cache-'));
    const e = `ssh -F ${s.h.configPath} -o SetEnv=XDG_CACHE_HOME=${own}`;
    const agent = join(own, 'ferry', 'agent', VERSION, 'ferry.mjs');
    writeTree(join(d, 'a'), { 'f.txt': 'f' });
    const roots = [join(d, 'a'), `hosta:${join(d, 'b')}`];

    const r1 = await runFerry(['sync', '-e', e, ...roots]);
    assert.equal(r1.code, 0, out(r1));
    assert.equal(fs.readFileSync(join(d, 'b', 'f.txt'), 'utf8'), 'f');
    assert.equal(sha256(fs.readFileSync(agent)), sha256(fs.readFileSync(FERRY_BIN)));
    assert.deepEqual(
      fs.readdirSync(join(own, 'ferry', 'agent', VERSION)),
      ['ferry.mjs'],
      'no temp file is left',
    );
    const before1 = fs.statSync(agent);

    fs.writeFileSync(join(d, 'a', 'g.txt'), 'g');
    const r2 = await runFerry(['sync', '-e', e, ...roots]);
    assert.equal(r2.code, 0, out(r2));
    assert.equal(fs.readFileSync(join(d, 'b', 'g.txt'), 'utf8'), 'g');
    const before2 = fs.statSync(agent);
    assert.equal(before2.ino, before1.ino, 'the cached agent was reused, not uploaded again');
    assert.equal(before2.mtimeMs, before1.mtimeMs);

    // A damaged cached agent fails its hash check and is replaced, never run.
    fs.writeFileSync(agent, 'process.exit(42)\n');
    fs.writeFileSync(join(d, 'a', 'h.txt'), 'h');
    const r3 = await runFerry(['sync', '-e', e, ...roots]);
    assert.equal(r3.code, 0, out(r3));
    assert.equal(fs.readFileSync(join(d, 'b', 'h.txt'), 'utf8'), 'h');
    assert.equal(sha256(fs.readFileSync(agent)), sha256(fs.readFileSync(FERRY_BIN)));
  });

  /** The suite's ssh command with single-file state (local and remote) kept under `state`. */
  const withState = (state: string) => ({
    ssh: `ssh -F ${s.h.configPath} -o 'SetEnv=XDG_CACHE_HOME=${s.cache} XDG_STATE_HOME=${state}'`,
    env: { XDG_STATE_HOME: state },
  });

  test('single-file roots on other hosts: created where missing, edits travel back, remote to remote', async (t) => {
    const d = scratch(t, 'ssh-single');
    const state = scratch(t, 'ssh-single-state');
    const { ssh, env } = withState(state);
    writeTree(join(d, 'l'), {
      '.bashrc': { content: 'alias ll="ls -l"\n', mode: 0o755 },
      'other.txt': 'stays',
    });
    const [L, R1, R2] = [join(d, 'l', '.bashrc'), join(d, 'r1', '.bashrc'), join(d, 'deep', 'r2', '.bashrc')];
    const r1 = await runFerry(['sync', '-e', ssh, L, `hosta:${R1}`, `hostb:${R2}`], { env });
    assert.equal(r1.code, 0, out(r1));
    for (const f of [R1, R2]) {
      assert.equal(fs.readFileSync(f, 'utf8'), 'alias ll="ls -l"\n');
      assert.notEqual(fs.statSync(f).mode & 0o111, 0, `${f} keeps the executable bit`);
      assert.deepEqual(fs.readdirSync(join(f, '..')), ['.bashrc'], 'only the file: no .ferry next to it');
    }
    assert.equal(fs.readdirSync(join(state, 'ferry', 'files')).length, 3, 'one state folder per file root');

    // An edit on one far host reaches the other with only remote roots, then the local one.
    fs.writeFileSync(R2, 'alias ll="ls -la"\n');
    const r2 = await runFerry(['sync', '-e', ssh, `hosta:${R1}`, `hostb:${R2}`], { env });
    assert.equal(r2.code, 0, out(r2));
    assert.equal(fs.readFileSync(R1, 'utf8'), 'alias ll="ls -la"\n');
    const r3 = await runFerry(['sync', '--json', '-e', ssh, L, `hosta:${R1}`, `hostb:${R2}`], { env });
    assert.equal(r3.code, 0, out(r3));
    assert.equal(fs.readFileSync(L, 'utf8'), 'alias ll="ls -la"\n');
    assert.equal(doneSummary(r3.stdout).copied, 1);
    assert.deepEqual(fs.readdirSync(join(d, 'l')).sort(), ['.bashrc', 'other.txt']);

    // Only the far root is a file: the local path that does not exist yet becomes one.
    const N = join(d, 'new', '.bashrc');
    const r4 = await runFerry(['sync', '-e', ssh, N, `hosta:${R1}`], { env });
    assert.equal(r4.code, 0, out(r4));
    assert.equal(fs.readFileSync(N, 'utf8'), 'alias ll="ls -la"\n');
    assert.deepEqual(fs.readdirSync(join(d, 'new')), ['.bashrc']);

    // Deleted on both sides: still file roots (their state says so), so nothing is created.
    fs.rmSync(N);
    fs.rmSync(R1);
    const r5 = await runFerry(['sync', '-e', ssh, N, `hosta:${R1}`], { env });
    assert.equal(r5.code, 0, out(r5));
    assert.deepEqual([fs.readdirSync(join(d, 'new')), fs.readdirSync(join(d, 'r1'))], [[], []]);
  });

  test('single files and folders over ssh do not mix, and file names must agree: refused, nothing touched', async (t) => {
    const d = scratch(t, 'ssh-single-bad');
    const state = scratch(t, 'ssh-single-bad-state');
    const { ssh, env } = withState(state);
    writeTree(d, { l: { 'f.txt': 'local' }, r: { 'f.txt': 'remote', 'g.txt': 'g' } });
    const cases: [string[], RegExp][] = [
      [
        [join(d, 'l', 'f.txt'), `hosta:${join(d, 'r')}`],
        /hosta:.*\/r is a folder, but another root of this run is a single file/,
      ],
      [
        [join(d, 'l'), `hosta:${join(d, 'r', 'f.txt')}`],
        /\/l is a folder, but another root of this run is a single file/,
      ],
      [
        [join(d, 'l', 'f.txt'), `hosta:${join(d, 'r', 'g.txt')}`],
        /single-file roots must have the same file name/,
      ],
      [
        [join(d, 'l', 'f.txt'), `hosta:${join(d, 'nowhere', 'h.txt')}`],
        /single-file roots must have the same file name/,
      ],
    ];
    for (const [roots, why] of cases) {
      const r = await runFerry(['sync', '-e', ssh, ...roots], { env });
      assert.equal(r.code, 2, out(r));
      assert.match(r.stderr, why);
    }
    assert.deepEqual(readTree(d), {
      l: DIR,
      'l/f.txt': 'local',
      r: DIR,
      'r/f.txt': 'remote',
      'r/g.txt': 'g',
    });
    assert.deepEqual(readTree(state), {}, 'no state was created for a refused run');
  });

  test('status of a remote root goes through the given ssh command', async (t) => {
    const d = scratch(t, 'ssh-status');
    const [A, B] = ['A', 'B'].map((n) => join(d, n)) as [string, string];
    writeTree(A, { 'a.txt': 'a' });
    const synced = await runFerry(['sync', '-e', s.ssh, A, `hosta:${B}`]);
    assert.equal(synced.code, 0, out(synced));

    const r = await runFerry(['status', '--json', '-e', s.ssh, `hosta:${B}`]);
    assert.equal(r.code, 0, out(r));
    const report = JSON.parse(r.stdout) as { replicaId: string; entries: number; peers: { label: string }[] };
    assert.equal(report.replicaId, fs.readFileSync(join(B, '.ferry', 'id'), 'utf8').trim());
    assert.equal(report.entries, 1);
    assert.deepEqual(
      report.peers.map((p) => p.label),
      [A],
    );
    // Without -e the default ssh cannot resolve the harness's aliases: a clear failure, exit 4.
    const plain = await runFerry(['status', `hosta:${B}`], { env: { FERRY_RSH: '' } });
    assert.equal(plain.code, 4, out(plain));
    assert.match(plain.stderr, /ssh to hosta failed/);
  });
});

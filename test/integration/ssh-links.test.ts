import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { collect, type FerryResult, runFerry, spawnFerry } from '../helpers/cli.ts';
import { agentPids, type SshdHandle, startSshd } from '../helpers/sshd.ts';
import { readTree, scratch, sha256, waitFor, writeTree } from '../helpers/tree.ts';

// Dead links: a host that cannot be reached, an agent killed mid-transfer, an agent that stops
// answering. Each run must end with a clear message naming the root, exit 4, and tear nothing;
// the next run must complete.

function out(r: { stdout: string; stderr: string }): string {
  return `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

/** Deterministic, incompressible-enough content of `size` bytes. */
function bigContent(size: number): Buffer {
  const b = Buffer.alloc(size);
  let x = 0x9e3779b9;
  for (let i = 0; i + 4 <= size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeInt32LE(x | 0, i);
  }
  return b;
}

/** True once the agent has started writing a temp file (large files: in .ferry/partial). */
function writing(root: string): boolean {
  return ['tmp', 'partial'].some((sub) => {
    const dir = join(root, '.ferry', sub);
    try {
      return fs.readdirSync(dir).some((n) => fs.statSync(join(dir, n)).size > 0);
    } catch {
      return false;
    }
  });
}

/**
 * Waits until the run has bytes of the big file on the far side. A run that ends first (on a loaded
 * machine the link timeout can trip before the agent answers) fails the test with its own output
 * instead of leaving it to wait out the full minute.
 */
async function transferStarted(child: ChildProcess, root: string, done: Promise<FerryResult>): Promise<void> {
  const ended = () => child.exitCode !== null || child.signalCode !== null;
  assert.ok(await waitFor(() => writing(root) || ended(), 60_000), 'the transfer never started');
  if (!writing(root)) assert.fail(`the run ended before the transfer started:\n${out(await done)}`);
}

describe('dead links', () => {
  let h: SshdHandle;
  let cache: string;
  let ssh: string;
  const stopped: number[] = [];
  before(async () => {
    h = await startSshd();
    cache = fs.mkdtempSync('/tmp/ferry-it-sshcache-');
    ssh = `ssh -F ${h.configPath} -o SetEnv=XDG_CACHE_HOME=${cache}`;
  });
  after(async () => {
    for (const pid of stopped) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await h?.stop();
    fs.rmSync(cache, { recursive: true, force: true });
  });

  test('an unreachable host: exit 4, a message naming it, the local root untouched', async (t) => {
    const d = scratch(t, 'deadhost');
    const A = join(d, 'A');
    writeTree(A, { 'a.txt': 'a', sub: { 'b.txt': 'b' } });
    const before = readTree(A);
    const r = await runFerry(['sync', '-e', ssh, A, 'deadhost:/srv/x']);
    assert.equal(r.code, 4, out(r));
    assert.match(r.stderr, /deadhost:\/srv\/x: ssh to deadhost failed: .*(refused|timed out)/i, out(r));
    assert.deepEqual(readTree(A), before);
  });

  test(
    'one dead host among three roots: the others are closed untouched, nothing hangs',
    { timeout: 30_000 },
    async (t) => {
      const d = scratch(t, 'deadmix');
      const A = join(d, 'A');
      writeTree(A, { 'a.txt': 'a' });
      const before = readTree(A);
      const r = await runFerry(['sync', '-e', ssh, A, `hosta:${join(d, 'B')}`, 'deadhost:/srv/x']);
      assert.equal(r.code, 4, out(r));
      assert.match(r.stderr, /deadhost:\/srv\/x: ssh to deadhost failed/, out(r));
      assert.deepEqual(readTree(A), before);
      assert.equal(fs.existsSync(join(d, 'B')), false, 'the reachable remote root was created');
      // An agent sshd had already started sees its input end and exits.
      assert.ok(
        await waitFor(() => agentPids(join(d, 'B')).length === 0, 10_000),
        'an agent was left running',
      );
    },
  );

  test('the agent killed mid-transfer: a clear TRANSPORT error, nothing torn, the next run completes', async (t) => {
    const d = scratch(t, 'killagent');
    const A = join(d, 'A');
    const B = join(d, 'B');
    const big = bigContent(96 * 1024 * 1024);
    writeTree(A, { 'big.bin': big, 'small.txt': 'small' });
    writeTree(B, { 'other.txt': 'other' });
    const child = spawnFerry(['sync', '--json', '-e', ssh, A, `hosta:${B}`]);
    const done = collect(child);
    await transferStarted(child, B, done);
    const pids = agentPids(B);
    assert.ok(pids.length > 0, 'the agent process was not found');
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    const r = await done;
    assert.equal(r.code, 4, out(r));
    assert.match(r.stderr, new RegExp(`lost the connection to hosta:${B}`), out(r));
    const error = r.stdout.split('\n').find((l) => l.includes('"type":"error"'));
    assert.match(error ?? '', /"code":"TRANSPORT"/, out(r));
    // Old or new, never torn: big.bin is absent or whole; nothing else appeared outside .ferry.
    for (const [p, v] of Object.entries(readTree(B, { hash: true }))) {
      if (p === 'big.bin') assert.equal(v, `sha256:${sha256(big)}`, 'a torn big.bin');
      else assert.ok(['other.txt', 'small.txt'].includes(p), `unexpected ${p} in the target`);
    }

    const again = await runFerry(['sync', '-e', ssh, A, `hosta:${B}`]);
    assert.equal(again.code, 0, out(again));
    assert.equal(sha256(fs.readFileSync(join(B, 'big.bin'))), sha256(big));
    assert.deepEqual(fs.readdirSync(join(B, '.ferry', 'tmp')), [], 'temp files left behind');
    assert.deepEqual(fs.readdirSync(join(B, '.ferry', 'partial')), [], 'partials left behind');
  });

  test('a stalled agent: the link timeout ends the run with a clear message', async (t) => {
    const d = scratch(t, 'stall');
    const A = join(d, 'A');
    const B = join(d, 'B');
    const big = bigContent(96 * 1024 * 1024);
    writeTree(A, { 'big.bin': big });
    const child = spawnFerry(['sync', '-e', ssh, A, `hosta:${B}`], { env: { FERRY_LINK_TIMEOUT: '5' } });
    const done = collect(child);
    await transferStarted(child, B, done);
    const pids = agentPids(B);
    assert.ok(pids.length > 0, 'the agent process was not found');
    for (const pid of pids) {
      process.kill(pid, 'SIGSTOP');
      stopped.push(pid);
    }
    const r = await done;
    assert.equal(r.code, 4, out(r));
    assert.match(r.stderr, new RegExp(`lost the connection to hosta:${B}: no data for 5 s`), out(r));
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    // Its lock is taken over once the process is gone (reaped), as after any crash.
    const gone = (pid: number) => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    };
    assert.ok(await waitFor(() => pids.every(gone), 10_000), 'the stopped agent did not go away');

    const again = await runFerry(['sync', '-e', ssh, A, `hosta:${B}`]);
    assert.equal(again.code, 0, out(again));
    assert.equal(sha256(fs.readFileSync(join(B, 'big.bin'))), sha256(big));
  });
});

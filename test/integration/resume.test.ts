import assert from 'node:assert/strict';
import { createCipheriv, createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { collect, doneSummary, runFerry, spawnFerry } from '../helpers/cli.ts';
import { agentPids, useSshd } from '../helpers/sshd.ts';
import { scratch, sha256, waitFor, writeTree } from '../helpers/tree.ts';

// Resuming large transfers after a dead link (README "Safety"): a large file whose transfer was
// cut off (ferry or the agent killed with -9) is kept as a prefix in the target's .ferry/partial;
// the next run copies that prefix from the target itself, so what travels again is the rest.

const SIZE = 56 << 20;
/** Bytes that must have landed before the kill. */
const LANDED = 8 << 20;
/** What a resumed run may send beyond the missing bytes: chunk lists, framing, the cut chunk. */
const SLACK = 3 << 20;

function out(r: { stdout: string; stderr: string }): string {
  return `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

/** Incompressible bytes, the same in every run (AES-CTR keystream). */
function pseudoRandom(size: number, seed: string): Buffer {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

/** Bytes held in a target's partial folder (kept prefixes and transfers in progress). */
function partialBytes(root: string): number {
  const dir = join(root, '.ferry', 'partial');
  try {
    return fs.readdirSync(dir).reduce((n, name) => n + fs.statSync(join(dir, name)).size, 0);
  } catch {
    return 0;
  }
}

/** The target holds only what it held before, plus big.bin either whole or absent (I2). */
function assertNotTorn(B: string, big: Buffer): void {
  for (const name of fs.readdirSync(B)) {
    if (name === '.ferry' || name === 'other.txt') continue;
    assert.equal(name, 'big.bin', `unexpected ${name} in the target`);
    assert.equal(sha256(fs.readFileSync(join(B, name))), sha256(big), 'a torn big.bin');
  }
}

/** Runs the sync again and checks that it resumed: only about the missing bytes travel. */
async function resume(args: string[], B: string, big: Buffer, landed: number, remote: boolean) {
  const again = await runFerry(['sync', '--json', ...args]);
  assert.equal(again.code, 0, out(again));
  assert.equal(sha256(fs.readFileSync(join(B, 'big.bin'))), sha256(big));
  const s = doneSummary(again.stdout);
  const moved = remote ? s.bytesOnWire : s.bytesTransferred;
  assert.ok(
    moved < SIZE - landed + SLACK,
    `resumed run moved ${moved} bytes; ${landed} of ${SIZE} had landed\n${out(again)}`,
  );
  assert.ok(s.bytesReused >= landed - SLACK, `only ${s.bytesReused} bytes reused of ${landed} landed`);
  assert.deepEqual(fs.readdirSync(join(B, '.ferry', 'partial')), [], 'partials left after commit');
  assert.deepEqual(fs.readdirSync(join(B, '.ferry', 'tmp')), [], 'temp files left behind');
  return { moved, reused: s.bytesReused };
}

function setup(t: { after(fn: () => void): void }, name: string) {
  const d = scratch(t, name);
  const A = join(d, 'A');
  const B = join(d, 'B');
  const big = pseudoRandom(SIZE, name);
  writeTree(A, { 'big.bin': big });
  writeTree(B, { 'other.txt': 'other' });
  return { A, B, big };
}

test('local to local: ferry killed with -9 mid-transfer, the next run resumes', async (t) => {
  const { A, B, big } = setup(t, 'resume-local');
  const child = spawnFerry(['sync', '--json', A, B]);
  const done = collect(child);
  assert.ok(await waitFor(() => partialBytes(B) >= LANDED, 60_000), 'the transfer never started');
  child.kill('SIGKILL');
  const r = await done;
  assert.equal(r.signal, 'SIGKILL', `the run ended before the kill\n${out(r)}`);
  assertNotTorn(B, big);
  const landed = partialBytes(B);
  assert.ok(landed >= LANDED && landed < SIZE, `${landed} bytes landed`);
  await resume([A, B], B, big, landed, false);
});

describe('resume over ssh', () => {
  const suite = useSshd({ before, after });

  test(
    'the local ferry killed with -9 mid-transfer: the next run resumes',
    { timeout: 120_000 },
    async (t) => {
      const { A, B, big } = setup(t, 'resume-kill-ferry');
      const args = ['-e', suite.ssh, A, `hosta:${B}`];
      const child = spawnFerry(['sync', '--json', ...args]);
      const done = collect(child);
      assert.ok(await waitFor(() => partialBytes(B) >= LANDED, 60_000), 'the transfer never started');
      child.kill('SIGKILL');
      const r = await done;
      assert.equal(r.signal, 'SIGKILL', `the run ended before the kill\n${out(r)}`);
      // The agent sees its input end, keeps what it wrote and exits (releasing the root's lock).
      assert.ok(await waitFor(() => agentPids(B).length === 0, 30_000), 'the agent did not exit');
      assertNotTorn(B, big);
      const landed = partialBytes(B);
      assert.ok(landed >= LANDED && landed < SIZE, `${landed} bytes landed`);
      const m = await resume(args, B, big, landed, true);
      t.diagnostic(
        `killed ferry: ${landed} landed, resumed run moved ${m.moved} on the wire, reused ${m.reused}`,
      );
    },
  );

  test(
    'the remote agent killed with -9 mid-transfer: the next run resumes',
    { timeout: 120_000 },
    async (t) => {
      const { A, B, big } = setup(t, 'resume-kill-agent');
      const args = ['-e', suite.ssh, A, `hosta:${B}`];
      const child = spawnFerry(['sync', '--json', ...args]);
      const done = collect(child);
      assert.ok(await waitFor(() => partialBytes(B) >= LANDED, 60_000), 'the transfer never started');
      const pids = agentPids(B);
      assert.ok(pids.length > 0, 'the agent process was not found');
      for (const pid of pids) process.kill(pid, 'SIGKILL');
      const r = await done;
      assert.equal(r.code, 4, out(r));
      assert.match(r.stderr, new RegExp(`lost the connection to hosta:${B}`), out(r));
      assertNotTorn(B, big);
      const landed = partialBytes(B);
      assert.ok(landed >= LANDED && landed < SIZE, `${landed} bytes landed`);
      const m = await resume(args, B, big, landed, true);
      t.diagnostic(
        `killed agent: ${landed} landed, resumed run moved ${m.moved} on the wire, reused ${m.reused}`,
      );
    },
  );
});

describe('kept partials', () => {
  /** A replica B that has met A but lacks big.bin, with `bytes` planted as big.bin's partial. */
  async function planted(t: { after(fn: () => void): void }, name: string, bytes: (big: Buffer) => Buffer) {
    const d = scratch(t, name);
    const A = join(d, 'A');
    const B = join(d, 'B');
    writeTree(A, { 'a.txt': 'a' });
    const first = await runFerry(['sync', A, B]);
    assert.equal(first.code, 0, out(first));
    const big = pseudoRandom(SIZE, name);
    fs.writeFileSync(join(A, 'big.bin'), big);
    const dir = join(B, '.ferry', 'partial');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(join(dir, sha256(big)), bytes(big));
    return { A, B, big };
  }

  test('a true prefix is copied from the target, not sent', async (t) => {
    const { A, B, big } = await planted(t, 'partial-good', (b) => b.subarray(0, 20 << 20));
    const r = await runFerry(['sync', '--json', A, B]);
    assert.equal(r.code, 0, out(r));
    assert.equal(sha256(fs.readFileSync(join(B, 'big.bin'))), sha256(big));
    const s = doneSummary(r.stdout);
    assert.ok(s.bytesTransferred <= SIZE - (20 << 20) + (256 << 10), `sent ${s.bytesTransferred}`);
    assert.ok(s.bytesReused >= (20 << 20) - (256 << 10), `reused ${s.bytesReused}`);
    assert.deepEqual(fs.readdirSync(join(B, '.ferry', 'partial')), []);
  });

  test('wrong bytes in a partial: the file is sent whole and lands right, the partial is gone', async (t) => {
    const { A, B, big } = await planted(t, 'partial-bad', (b) => {
      const bad = Buffer.from(b.subarray(0, 20 << 20));
      bad[12345] = (bad[12345] ?? 0) ^ 1;
      return bad;
    });
    const r = await runFerry(['sync', '--json', A, B]);
    assert.equal(r.code, 0, out(r));
    assert.equal(sha256(fs.readFileSync(join(B, 'big.bin'))), sha256(big));
    const s = doneSummary(r.stdout);
    assert.equal(s.bytesReused, 0);
    assert.ok(s.bytesTransferred >= SIZE, `sent ${s.bytesTransferred}`);
    assert.deepEqual(fs.readdirSync(join(B, '.ferry', 'partial')), []);
    assert.deepEqual(fs.readdirSync(join(B, '.ferry', 'tmp')), []);
  });

  test('junk in the partial folder is removed at open and never synced', async (t) => {
    const { A, B, big } = await planted(t, 'partial-junk', (b) => b.subarray(0, 1 << 20));
    const dir = join(B, '.ferry', 'partial');
    fs.writeFileSync(join(dir, 'not-a-partial'), 'x');
    fs.writeFileSync(join(dir, `${'e'.repeat(64)}.1-1.part`), 'stale prefix of another file');
    const r = await runFerry(['sync', A, B]);
    assert.equal(r.code, 0, out(r));
    assert.equal(sha256(fs.readFileSync(join(B, 'big.bin'))), sha256(big));
    assert.deepEqual(fs.readdirSync(dir), [`${'e'.repeat(64)}`]);
    assert.deepEqual(fs.readdirSync(A).sort(), ['.ferry', 'a.txt', 'big.bin']);
    assert.deepEqual(fs.readdirSync(B).sort(), ['.ferry', 'a.txt', 'big.bin']);
  });
});

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PROTOCOL_VERSION } from '../../src/protocol/messages.ts';
import { eventsOf, REPO_ROOT, runFerry } from '../helpers/cli.ts';
import { type SshdHandle, startSshd } from '../helpers/sshd.ts';
import { fingerprint, scratch, writeTree } from '../helpers/tree.ts';

// A scripted agent on the far side (test/helpers/fake-agent.mjs) that lies about its version,
// sends hostile paths or absurd frame sizes. Every case must end quickly with a clear error,
// and must not touch the local root.

const FAKE = join(REPO_ROOT, 'test', 'helpers', 'fake-agent.mjs');

function out(r: { stdout: string; stderr: string }): string {
  return `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

describe('a misbehaving agent', () => {
  let h: SshdHandle;
  let ssh: string;
  before(async () => {
    h = await startSshd();
    ssh = `ssh -F ${h.configPath}`;
  });
  after(async () => {
    await h?.stop();
  });

  async function against(t: { after(fn: () => void): void }, mode: string, extra: string[] = []) {
    const d = scratch(t, `fake-${mode}`);
    const local = join(d, 'local');
    writeTree(local, { 'keep.txt': 'keep', sub: { 'x.txt': 'x' } });
    const files = () => {
      const f = fingerprint(local);
      for (const k of Object.keys(f)) if (k === '.ferry' || k.startsWith('.ferry/')) delete f[k];
      return f;
    };
    const before = files();
    const r = await runFerry([
      'sync',
      '--json',
      '-e',
      ssh,
      '--remote-ferry',
      FAKE,
      ...extra,
      local,
      `hosta:${join(d, mode)}`,
    ]);
    assert.deepEqual(files(), before, 'the local root was changed');
    assert.equal(fs.existsSync(join(d, 'escape')), false);
    const [err] = eventsOf(r.stdout, 'error');
    return { r, err: err as { code: string; message: string } | undefined };
  }

  test(
    'a protocol version mismatch names both versions and does not hang',
    { timeout: 30_000 },
    async (t) => {
      const { r, err } = await against(t, 'version99');
      assert.equal(r.code, 4, out(r));
      assert.equal(err?.code, 'PROTOCOL', out(r));
      assert.match(r.stderr, new RegExp(`this ferry speaks version ${PROTOCOL_VERSION}\\b`));
      assert.match(r.stderr, /speaks version 99 \(fake-agent 9\.9\)/);
      assert.match(r.stderr, /hosta:/);
    },
  );

  test('a scan result with a ../ path is refused as a protocol error', { timeout: 30_000 }, async (t) => {
    const { r, err } = await against(t, 'escape');
    assert.equal(r.code, 4, out(r));
    assert.equal(err?.code, 'PROTOCOL', out(r));
    assert.match(err?.message ?? '', /hosta:.*path/, out(r));
  });

  test('an oversized frame header is refused before any allocation', { timeout: 30_000 }, async (t) => {
    const { r, err } = await against(t, 'bigframe');
    assert.equal(r.code, 4, out(r));
    assert.equal(err?.code, 'PROTOCOL', out(r));
    assert.match(err?.message ?? '', /frame|exceeds|limit/i, out(r));
  });

  test('a missing remote program is a clear transport error', { timeout: 30_000 }, async (t) => {
    const d = scratch(t, 'fake-missing');
    writeTree(join(d, 'local'), { 'a.txt': 'a' });
    const r = await runFerry([
      'sync',
      '-e',
      ssh,
      '--remote-ferry',
      join(d, 'no such ferry'),
      join(d, 'local'),
      `hosta:${join(d, 'r')}`,
    ]);
    assert.equal(r.code, 4, out(r));
    assert.match(r.stderr, /hosta:.*exited with code 127 before answering: .*no such ferry/, out(r));
  });
});

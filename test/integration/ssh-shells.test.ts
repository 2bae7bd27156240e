import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FERRY_BIN, runFerry } from '../helpers/cli.ts';
import { type SshdHandle, startSshd } from '../helpers/sshd.ts';
import { readTree, tempDir, writeTree } from '../helpers/tree.ts';

// The remote login shell runs ferry's command line: bash, dash, zsh and fish quote differently,
// so a root path full of shell syntax must reach the agent unchanged and never be executed.

const SHELLS = { bash: '/bin/bash', dash: '/bin/dash', zsh: '/usr/bin/zsh', fish: '/usr/bin/fish' } as const;
const PWNED = ['/tmp/pwned', '/tmp/pwned2', '/tmp/pwned3'];
const NASTY = `dir with spaces 'single' "double" $(touch /tmp/pwned) \`touch /tmp/pwned2\` ; touch /tmp/pwned3 # & | * ~ \\ $HOME end`;

/** A local user whose login shell is `shell` (tests run as root). Fails clearly if it cannot be made. */
function userWithShell(name: string, shell: string): { uid: number; gid: number } {
  assert.ok(
    fs.existsSync(shell),
    `${shell} is missing: install it (scripts/test-all.sh installs zsh and fish)`,
  );
  const exists = spawnSync('id', ['-u', name], { encoding: 'utf8' }).status === 0;
  const r = exists
    ? spawnSync('usermod', ['-s', shell, name], { encoding: 'utf8' })
    : spawnSync('useradd', ['-m', '-s', shell, name], { encoding: 'utf8' });
  assert.equal(r.status, 0, `cannot set up user ${name}: ${r.stderr}`);
  // useradd leaves the password field '!', which sshd (without PAM) reads as a locked account;
  // '*' means "no password login" and leaves key login allowed.
  const unlock = spawnSync('usermod', ['-p', '*', name], { encoding: 'utf8' });
  assert.equal(unlock.status, 0, `cannot unlock user ${name}: ${unlock.stderr}`);
  const uid = Number(spawnSync('id', ['-u', name], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', name], { encoding: 'utf8' }).stdout.trim());
  return { uid, gid };
}

function out(r: { stdout: string; stderr: string }): string {
  return `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

describe('remote login shells', () => {
  let h: SshdHandle;
  let ssh: string;
  let base: ReturnType<typeof tempDir>;
  before(async () => {
    h = await startSshd();
    ssh = `ssh -F ${h.configPath}`;
    base = tempDir('shells');
    // Test users must reach their folders (and the agent copy) below it.
    fs.chmodSync(base.dir, 0o755);
    for (const p of PWNED) fs.rmSync(p, { force: true });
  });
  after(async () => {
    await h?.stop();
    base?.cleanup();
  });

  for (const [name, shell] of Object.entries(SHELLS)) {
    test(`${name}: a path full of shell syntax syncs and nothing in it runs`, async () => {
      const user = `ferry_${name}`;
      const { uid, gid } = userWithShell(user, shell);
      const home = join(base.dir, name);
      fs.mkdirSync(home);
      fs.chownSync(home, uid, gid);
      const local = join(base.dir, `${name}-local`);
      writeTree(local, { 'hello.txt': `hi ${name}`, sub: { 'deep.txt': 'deep' } });
      const remote = join(home, NASTY);

      // Default path: no ferry on the remote PATH, so the agent is uploaded to the user's cache.
      const r1 = await runFerry(['sync', '-e', ssh, local, `${user}@hosta:${remote}`]);
      assert.equal(r1.code, 0, out(r1));
      assert.deepEqual(readTree(remote), readTree(local));
      assert.equal(fs.statSync(join(remote, 'hello.txt')).uid, uid, 'written as the login user');

      // --remote-ferry with an awkward name: decoded on the far side, never parsed by its shell.
      const progDir = join(home, `bin 'q' "d" $(id) \`id\``);
      fs.mkdirSync(progDir);
      fs.chownSync(progDir, uid, gid);
      const prog = join(progDir, 'my ferry; agent.sh');
      const bundle = join(home, 'ferry.mjs');
      fs.copyFileSync(FERRY_BIN, bundle);
      fs.writeFileSync(prog, `#!/bin/sh\necho ran > "$(dirname "$0")/ran"\nexec node ${bundle} "$@"\n`, {
        mode: 0o755,
      });
      fs.writeFileSync(join(local, 'more.txt'), 'more');
      const r2 = await runFerry([
        'sync',
        '-e',
        ssh,
        '--remote-ferry',
        prog,
        local,
        `${user}@hosta:${remote}`,
      ]);
      assert.equal(r2.code, 0, out(r2));
      assert.equal(fs.readFileSync(join(remote, 'more.txt'), 'utf8'), 'more');
      assert.equal(fs.existsSync(join(progDir, 'ran')), true, 'the named remote program was run');

      for (const p of PWNED)
        assert.equal(fs.existsSync(p), false, `${p} was created: a name reached a shell`);
    });
  }

  /**
   * A user whose login shell's PATH holds only `sh` plus `tools` (name -> file to link, or a
   * script's text), then a sync to it that must be refused with exit 4, touching nothing.
   */
  async function refusedBy(tag: string, tools: Record<string, { link: string } | string>): Promise<string> {
    const bin = join(base.dir, `${tag}-bin`);
    fs.mkdirSync(bin);
    fs.symlinkSync('/bin/sh', join(bin, 'sh'));
    for (const [name, t] of Object.entries(tools)) {
      if (typeof t === 'string') fs.writeFileSync(join(bin, name), t, { mode: 0o755 });
      else fs.symlinkSync(t.link, join(bin, name));
    }
    const wrapper = join(base.dir, `${tag}-shell`);
    fs.writeFileSync(wrapper, `#!/bin/sh\nPATH=${bin}\nexport PATH\nexec /bin/sh "$@"\n`, { mode: 0o755 });
    const user = `ferry_${tag}`;
    userWithShell(user, wrapper);
    const local = join(base.dir, `${tag}-local`);
    writeTree(local, { 'a.txt': 'a' });
    const before = readTree(local);
    const never = `/tmp/ferry-${tag}-never`;
    const r = await runFerry(['sync', '-e', ssh, local, `${user}@hosta:${never}`]);
    assert.equal(r.code, 4, out(r));
    assert.match(r.stderr, /install Node\.js 20 or newer/);
    assert.deepEqual(readTree(local), before);
    assert.equal(fs.existsSync(never), false);
    return r.stderr;
  }

  test('no node on the remote: a clear error says what to install', async () => {
    const stderr = await refusedBy('nonode', {});
    assert.match(
      stderr,
      /ferry_nonode@hosta:\/tmp\/ferry-nonode-never: neither ferry nor node \(>= 20\) is installed/,
    );
  });

  test('node older than 20 on the remote: a clear error names its version', async () => {
    // sha256sum as on any Linux host, and a `node` that is version 18.
    const sha = spawnSync('sh', ['-c', 'command -v sha256sum'], { encoding: 'utf8' }).stdout.trim();
    const stderr = await refusedBy('oldnode', {
      sha256sum: { link: sha },
      node: '#!/bin/sh\necho v18.20.4\n',
    });
    assert.match(
      stderr,
      /ferry_oldnode@hosta:\/tmp\/ferry-oldnode-never: node on hosta is v18\.20\.4, too old/,
    );
  });
});

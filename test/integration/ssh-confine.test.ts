import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FERRY_BIN, runFerry } from '../helpers/cli.ts';
import { type SshdHandle, startSshd } from '../helpers/sshd.ts';
import { fingerprint, readTree, tempDir, writeTree } from '../helpers/tree.ts';

// `ferry serve --root DIR [--read-only]` as a forced command in authorized_keys (like rrsync):
// two extra keys, one confined read-write and one confined read-only, each with its own host alias.

function out(r: { stdout: string; stderr: string }): string {
  return `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

describe('confinement with a forced command', () => {
  let h: SshdHandle;
  let work: ReturnType<typeof tempDir>;
  let DIR: string;
  let cfg: string;
  let ssh: string;
  before(async () => {
    h = await startSshd();
    work = tempDir('confine');
    DIR = join(work.dir, 'allowed');
    fs.mkdirSync(DIR);
    const lines: string[] = [];
    const hosts: string[] = [];
    for (const [alias, flags] of [
      ['conf-rw', ''],
      ['conf-ro', ' --read-only'],
    ] as const) {
      const key = join(work.dir, `id_${alias}`);
      const k = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', alias, '-f', key]);
      assert.equal(k.status, 0, String(k.stderr));
      const pub = fs.readFileSync(`${key}.pub`, 'utf8').trim();
      const forced = `${process.execPath} ${FERRY_BIN} serve --root ${DIR}${flags}`;
      lines.push(`command="${forced}",restrict ${pub}`);
      hosts.push(
        `Host ${alias}`,
        '  HostName 127.0.0.1',
        `  Port ${h.port}`,
        `  IdentityFile ${key}`,
        '  IdentitiesOnly yes',
        '  StrictHostKeyChecking no',
        '  UserKnownHostsFile /dev/null',
        '  LogLevel ERROR',
        '  BatchMode yes',
      );
    }
    // The harness key keeps its unrestricted line; the confined keys are added after it.
    fs.appendFileSync(join(h.dir, 'authorized_keys'), `${lines.join('\n')}\n`);
    cfg = join(work.dir, 'ssh_config');
    fs.writeFileSync(cfg, `${hosts.join('\n')}\n`);
    ssh = `ssh -F ${cfg}`;
  });
  after(async () => {
    await h?.stop();
    work?.cleanup();
  });

  function direct(alias: string, command: string | undefined) {
    const args = ['-F', cfg, '-T', alias, ...(command === undefined ? [] : [command])];
    return spawnSync('ssh', args, { input: '', encoding: 'utf8', timeout: 20_000 });
  }

  test('inside DIR a sync works, relative paths are taken inside DIR', async () => {
    const A = join(work.dir, 'A');
    writeTree(A, { 'a.txt': 'a', sub: { 'b.txt': 'b' } });
    const r = await runFerry(['sync', '-e', ssh, A, `conf-rw:${join(DIR, 'proj')}`]);
    assert.equal(r.code, 0, out(r));
    assert.deepEqual(readTree(join(DIR, 'proj')), readTree(A));
    const r2 = await runFerry(['sync', '-e', ssh, A, 'conf-rw:rel']);
    assert.equal(r2.code, 0, out(r2));
    assert.deepEqual(readTree(join(DIR, 'rel')), readTree(A));
  });

  test('a confined agent serves folders only: a file, or a path asked to become one, is refused', async () => {
    const F = join(work.dir, 'F');
    writeTree(F, { 'f.txt': 'local' });
    writeTree(join(DIR, 'files'), { 'f.txt': 'inside' });
    const before = fingerprint(work.dir);
    // An existing file: the agent refuses at start (as for paths outside DIR). A missing path:
    // the agent refuses to open it as a file. Either way bad input: exit 2.
    for (const [target, code] of [
      [join(DIR, 'files', 'f.txt'), 2],
      [join(DIR, 'missing', 'f.txt'), 2],
    ] as const) {
      const r = await runFerry(['sync', '-e', ssh, join(F, 'f.txt'), `conf-rw:${target}`]);
      assert.equal(r.code, code, out(r));
      assert.match(r.stderr, /serves folders only|can only be served as a folder/, out(r));
    }
    assert.deepEqual(fingerprint(work.dir), before, 'nothing created or changed');
  });

  test('paths outside DIR are refused: absolute, .., and through a symlink', async () => {
    const A = join(work.dir, 'A2');
    writeTree(A, { 'a.txt': 'a' });
    const outside = join(work.dir, 'outside');
    fs.mkdirSync(outside);
    fs.symlinkSync(outside, join(DIR, 'link'));
    for (const target of [outside, join(DIR, '..', 'outside', 'x'), join(DIR, 'link', 'x'), '~/x']) {
      const r = await runFerry(['sync', '-e', ssh, A, `conf-rw:${target}`]);
      assert.equal(r.code, 2, `${target}\n${out(r)}`);
      assert.match(r.stderr, /refused: .* is outside /, out(r));
    }
    assert.deepEqual(fs.readdirSync(outside), [], 'something was written outside DIR');
  });

  test('read-only: pulling works, any write is refused and nothing in the root changes', async () => {
    const src = join(DIR, 'proj');
    const before = fingerprint(src);
    const pulled = join(work.dir, 'pulled');
    const r1 = await runFerry(['sync', '-e', ssh, `conf-ro:${src}`, pulled]);
    assert.equal(r1.code, 0, out(r1));
    assert.deepEqual(readTree(pulled), readTree(src));

    const A = join(work.dir, 'A');
    fs.writeFileSync(join(A, 'new.txt'), 'new');
    const r2 = await runFerry(['sync', '-e', ssh, A, `conf-ro:${src}`]);
    assert.notEqual(r2.code, 0, out(r2));
    assert.match(r2.stderr, /served read-only: refusing to write new\.txt/, out(r2));
    assert.equal(fs.existsSync(join(src, 'new.txt')), false);
    assert.deepEqual(fingerprint(src), before, 'the read-only root changed');

    // A fresh root cannot be created through a read-only key either.
    const r3 = await runFerry(['sync', '-e', ssh, A, `conf-ro:${join(DIR, 'fresh')}`]);
    assert.notEqual(r3.code, 0, out(r3));
    assert.match(r3.stderr, /read-only/, out(r3));
    assert.equal(fs.existsSync(join(DIR, 'fresh')), false);
  });

  test('shell tricks in the requested command are refused and never run', () => {
    const pwned = join(work.dir, 'pwned');
    const hex = Buffer.from(join(DIR, 'proj')).toString('hex');
    const tricks = [
      `ferry serve --stdio --path-hex ${hex}; touch ${pwned}`,
      `ferry serve --stdio --path-hex ${hex} && touch ${pwned}`,
      `sh -c 'exit 0' ferry ${hex} 0.1.0 abc; rm -rf ${DIR}`,
      `sh -c 'exit 0' ferry ${hex} 0.1.0 abc $(touch ${pwned})`,
      `sh -c 'exit 0' ferry ${hex} 0.1.0 \`touch ${pwned}\``,
      `touch ${pwned}`,
      `sh -c 'cat > x' ferry-upload 0.1.0 abc`,
      `ferry serve --stdio --path-hex ${hex} | tee ${pwned}`,
    ];
    for (const cmd of tricks) {
      const r = direct('conf-ro', cmd);
      assert.equal(r.status, 2, `${cmd}\n${r.stderr}`);
      assert.match(r.stderr, /ferry serve: refused/, cmd);
    }
    const none = direct('conf-ro', undefined);
    assert.equal(none.status, 2, none.stderr);
    assert.match(none.stderr, /refused: this key only serves ferry/);

    // The right shape with another script: the script is never run, only the path is taken.
    const shaped = direct('conf-ro', `sh -c 'touch ${pwned}' ferry ${hex} 0.1.0 abc`);
    assert.equal(shaped.status, 0, shaped.stderr);
    assert.equal(fs.existsSync(pwned), false, 'a command from SSH_ORIGINAL_COMMAND ran');
    assert.equal(fs.existsSync(DIR), true);
  });
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type SshdHandle, startSshd } from '../helpers/sshd.ts';

function ssh(h: SshdHandle, host: string, ...cmd: string[]) {
  const [bin, ...args] = h.sshCommand;
  return spawnSync(bin as string, [...args, host, ...cmd], { encoding: 'utf8', timeout: 20_000 });
}

describe('private sshd harness', () => {
  let h: SshdHandle;
  before(async () => {
    h = await startSshd();
  });
  after(async () => {
    await h?.stop();
  });

  it('runs a command on hosta', () => {
    const r = ssh(h, 'hosta', 'echo', 'ok');
    assert.equal(r.stderr, '');
    assert.equal(r.status, 0);
    assert.equal(r.stdout, 'ok\n');
  });

  it('runs a command on hostb and passes stdin through', () => {
    const [bin, ...args] = h.sshCommand;
    const r = spawnSync(bin as string, [...args, 'hostb', 'cat'], {
      input: 'through the pipe',
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'through the pipe');
  });

  it('fails fast with a non-zero exit on deadhost', () => {
    const t0 = process.hrtime.bigint();
    const r = ssh(h, 'deadhost', 'true');
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    assert.notEqual(r.status, 0);
    assert.equal(r.stdout, '');
    assert.ok(secs < 10, `deadhost took ${secs} s`);
  });

  it('stops cleanly and removes its temp dir', async () => {
    const other = await startSshd();
    assert.notEqual(other.port, h.port);
    assert.equal(ssh(other, 'hostc', 'true').status, 0);
    await other.stop();
    assert.equal(existsSync(other.dir), false);
    assert.notEqual(ssh(other, 'hostc', 'true').status, 0);
  });
});

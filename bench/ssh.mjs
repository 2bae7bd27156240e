// The loopback sshd for the ssh scenarios: started with the test suite's own harness
// (test/helpers/sshd.ts, loaded through tsx's tsImport so plain `node bench/run.mjs` works), plus what
// the scenarios need around it: the counting ssh wrapper, the raw `cat | ssh` reference and ferry's
// agent warm-up. Every host alias of that sshd is this machine, so `hosta:/abs/path` is a local folder
// reached through a real ssh login, and the destination can be compared directly.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { FERRY, fileHash, REPO, TOOLS } from './tools.mjs';

export const HOST = 'hosta';
const SSHD = process.env.FERRY_TEST_SSHD ?? '/usr/sbin/sshd';

const onPath = (cmd) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd]).status === 0;

/**
 * Starts the sshd. Resolves { ok: true, ... } with the pieces the scenarios use, or { ok: false, reason }
 * when ssh scenarios cannot run here (the reason says what to install); never throws.
 */
export async function startSsh(workDir, log) {
  if (!fs.existsSync(SSHD)) return { ok: false, reason: `no ${SSHD} (apt-get install openssh-server)` };
  for (const c of ['ssh', 'ssh-keygen'])
    if (!onPath(c)) return { ok: false, reason: `no ${c} on PATH (apt-get install openssh-client)` };
  let startSshd;
  try {
    const { tsImport } = await import('tsx/esm/api');
    ({ startSshd } = await tsImport('../test/helpers/sshd.ts', import.meta.url));
  } catch (e) {
    return { ok: false, reason: `cannot load test/helpers/sshd.ts through tsx (npm install): ${e.message}` };
  }
  let handle;
  try {
    handle = await startSshd();
  } catch (e) {
    return { ok: false, reason: `sshd did not start: ${firstLines(e.message)}` };
  }
  const ssh = { program: 'ssh', args: ['-F', handle.configPath] };
  const probe = spawnSync(ssh.program, [...ssh.args, HOST, 'true'], { encoding: 'utf8', timeout: 20_000 });
  if (probe.status !== 0) {
    await handle.stop();
    return {
      ok: false,
      reason: `ssh ${HOST} true failed: ${firstLines(probe.stderr || probe.error?.message)}`,
    };
  }
  const dir = join(workDir, 'ssh');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  // unison -sshcmd takes one program, no arguments: a shim runs the counting wrapper with this node.
  const countShim = join(dir, 'ssh-count');
  fs.writeFileSync(
    countShim,
    `#!/bin/sh\nexec '${process.execPath}' '${join(REPO, 'bench', 'ssh-count.mjs')}' "$@"\n`,
    { mode: 0o755 },
  );
  const ctx = {
    ok: true,
    host: HOST,
    configPath: handle.configPath,
    ssh,
    countSsh: { program: countShim, args: ssh.args },
    ferryCache: join(dir, 'ferry-cache'),
    dir,
    agentHash: null,
    log,
    stop: () => handle.stop(),
  };
  log(`sshd on 127.0.0.1:${handle.port}, config ${handle.configPath}`);
  return ctx;
}

function firstLines(s, n = 3) {
  return String(s ?? '')
    .split('\n')
    .filter((l) => l.trim())
    .slice(0, n)
    .join(' | ');
}

/**
 * ferry uploads its agent on the first connection to a host (once per build). Do that untimed before the
 * first timed ferry run (and again should the ferry under test change), so timed runs measure the steady
 * state: agent cached remotely, as rsync and unison are installed there. Returns an error text or null.
 */
export function ensureFerryAgent(ctx) {
  const hash = fileHash(FERRY);
  if (hash === null) return null; // the timed run will fail and say so
  if (hash === ctx.agentHash) return null;
  const src = join(ctx.dir, 'warm', 'src');
  fs.mkdirSync(src, { recursive: true });
  fs.writeFileSync(join(src, 'warm.txt'), hash);
  const { cmd, args, env } = TOOLS.ferry.command(
    { path: src },
    { host: ctx.host, path: join(ctx.dir, 'warm', 'dst') },
    { ssh: ctx.ssh, ferryCache: ctx.ferryCache },
  );
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  if (r.status !== 0) return `ferry agent warm-up failed (exit ${r.status}): ${firstLines(r.stderr, 5)}`;
  ctx.log(`ferry agent ${ctx.agentHash ? 're-' : ''}uploaded to ${ctx.host} (untimed warm-up)`);
  ctx.agentHash = hash;
  return null;
}

/** `cat FILE | ssh -F cfg hosta 'cat >/dev/null'` as a command for runTimed. */
export function rawCatCommand(ctx, file) {
  return {
    cmd: 'sh',
    args: [
      '-c',
      `cat "$1" | "$2" -F "$3" "$4" 'cat >/dev/null'`,
      'sh',
      file,
      ctx.ssh.program,
      ctx.configPath,
      ctx.host,
    ],
  };
}

/**
 * Sums the wrapper's counts once every wrapper that started has written its end line (waiting up to
 * `waitMs`: a tool may exit before its ssh does): { sent, received, conns } or null when none finished.
 */
export async function readWire(file, waitMs = 10_000) {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n') : [];
    const started = new Set(lines.filter((l) => l.startsWith('start ')).map((l) => l.slice(6)));
    const ends = lines.map((l) => l.match(/^(\d+) (\d+) (\d+)$/)).filter(Boolean);
    if (ends.length >= started.size || Date.now() > deadline) {
      if (!ends.length) return null;
      // `unfinished`: wrappers that never wrote their counts (killed): the sums miss their bytes.
      const w = { sent: 0, received: 0, conns: ends.length, unfinished: started.size - ends.length };
      for (const m of ends) {
        w.sent += Number(m[2]);
        w.received += Number(m[3]);
      }
      return w;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

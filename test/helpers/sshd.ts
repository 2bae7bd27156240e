import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A private OpenSSH server for integration tests: loopback only, throwaway host and user keys in a
 * temp dir, an ssh client config with host aliases so tests (and ferry's `-e` / FERRY_RSH) can run
 * `ssh -F <config> hosta ...` without touching ~/.ssh. Needs the openssh-server and
 * openssh-client packages. sshd's own log is `<dir>/sshd.log`.
 */
export interface SshdHandle {
  readonly port: number;
  readonly dir: string;
  readonly configPath: string;
  readonly identityPath: string;
  readonly logPath: string;
  /** ['ssh', '-F', configPath]: prefix for running commands on hosta/hostb/hostc/deadhost. */
  readonly sshCommand: readonly string[];
  stop(): Promise<void>;
}

const SSHD = process.env.FERRY_TEST_SSHD ?? '/usr/sbin/sshd';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function keygen(path: string, type: 'ed25519'): void {
  const r = spawnSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'ferry-test', '-f', path], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr || r.error?.message}`);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('error', () => done(false));
    // sshd speaks first: its version banner proves it is up and accepting, not just bound.
    s.once('data', (d: Buffer) => done(d.toString('latin1').startsWith('SSH-')));
    s.connect(port, '127.0.0.1');
  });
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startSshd(): Promise<SshdHandle> {
  // sshd started as root insists on its privilege-separation dir, normally made by the service unit.
  if (process.getuid?.() === 0 && !existsSync('/run/sshd'))
    mkdirSync('/run/sshd', { mode: 0o755, recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'ferry-sshd-'));
  // sshd reads authorized_keys as the user logging in: other test users must be able to read it.
  chmodSync(dir, 0o755);
  const hostKey = join(dir, 'host_ed25519');
  const identityPath = join(dir, 'id_ed25519');
  keygen(hostKey, 'ed25519');
  keygen(identityPath, 'ed25519');
  const authorized = join(dir, 'authorized_keys');
  writeFileSync(authorized, readFileSync(`${identityPath}.pub`), { mode: 0o644 });
  const port = await freePort();
  const deadPort = await freePort();
  const logPath = join(dir, 'sshd.log');
  const sshdConfig = join(dir, 'sshd_config');
  writeFileSync(
    sshdConfig,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorized}`,
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'X11Forwarding no',
      'AllowTcpForwarding no',
      'PrintMotd no',
      'LogLevel VERBOSE',
      // Tests start several sessions at once (one per root): do not throttle them.
      'MaxStartups 100',
      'MaxSessions 100',
      // Lets a test point the remote agent cache and single-file state somewhere private
      // (ssh -o 'SetEnv=XDG_CACHE_HOME=... XDG_STATE_HOME=...').
      'AcceptEnv XDG_CACHE_HOME XDG_STATE_HOME',
      '',
    ].join('\n'),
  );
  const configPath = join(dir, 'ssh_config');
  const common = [
    '  HostName 127.0.0.1',
    `  IdentityFile ${identityPath}`,
    '  IdentitiesOnly yes',
    '  StrictHostKeyChecking no',
    '  UserKnownHostsFile /dev/null',
    '  LogLevel ERROR',
    '  BatchMode yes',
  ];
  writeFileSync(
    configPath,
    [
      ...['hosta', 'hostb', 'hostc'].flatMap((h) => [`Host ${h}`, `  Port ${port}`, ...common]),
      'Host deadhost',
      `  Port ${deadPort}`,
      '  ConnectTimeout 2',
      ...common,
      '',
    ].join('\n'),
  );

  // sshd -E appends its log to a file; -e would send it to stderr, which we also keep (rare early errors).
  const child = spawn(SSHD, ['-D', '-f', sshdConfig, '-E', logPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  let exited: string | undefined;
  const gone = new Promise<void>((resolve) => {
    child.once('exit', (code, sig) => {
      exited = `sshd exited (${code ?? sig})`;
      resolve();
    });
    // A missing or unrunnable sshd binary: no 'exit' follows, and without a listener it would throw.
    child.once('error', (e) => {
      exited = `cannot start ${SSHD}: ${e.message}`;
      resolve();
    });
  });
  const stop = async () => {
    if (exited === undefined) {
      child.kill('SIGTERM');
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  };

  for (let attempt = 0; attempt < 100; attempt++) {
    if (exited !== undefined) break;
    if (await canConnect(port)) {
      return { port, dir, configPath, identityPath, logPath, sshCommand: ['ssh', '-F', configPath], stop };
    }
    await pause(50);
  }
  const why = exited ?? 'sshd did not accept connections';
  const log = existsSync(logPath) ? readFileSync(logPath, 'utf8') : '';
  await stop();
  throw new Error(`${why} on 127.0.0.1:${port}\n${stderr}\n${log}`);
}

/** What a suite of ssh tests shares: the running sshd, and an ssh command for `ferry -e`. */
export interface SshSuite {
  readonly h: SshdHandle;
  /** `ssh -F <config> -o SetEnv=XDG_CACHE_HOME=<cache>`: the agent lands in a private cache. */
  readonly ssh: string;
  readonly cache: string;
}

/**
 * Starts one sshd for the enclosing describe() (before/after hooks) with a private agent cache,
 * so uploads never touch the real ~/.cache of the test user. Read the fields inside tests only.
 */
export function useSshd(hooks: {
  before(fn: () => Promise<void>): void;
  after(fn: () => Promise<void>): void;
}): SshSuite {
  let state: SshSuite | undefined;
  hooks.before(async () => {
    const h = await startSshd();
    const cache = mkdtempSync('/tmp/ferry-it-sshcache-');
    state = { h, cache, ssh: `ssh -F ${h.configPath} -o SetEnv=XDG_CACHE_HOME=${cache}` };
  });
  hooks.after(async () => {
    await state?.h.stop();
    if (state) rmSync(state.cache, { recursive: true, force: true });
  });
  const get = (): SshSuite => {
    if (!state) throw new Error('useSshd: read the suite inside a test, after before() ran');
    return state;
  };
  return {
    get h() {
      return get().h;
    },
    get ssh() {
      return get().ssh;
    },
    get cache() {
      return get().cache;
    },
  };
}

/** pids of the agent serving `root` on "the remote" (this machine): its command line carries the hex path. */
export function agentPids(root: string): number[] {
  const hex = Buffer.from(root, 'utf8').toString('hex');
  const r = spawnSync('pgrep', ['-f', '--', `--path-hex ${hex}`], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(Number);
}

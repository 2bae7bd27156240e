// Running and timing the tools. Each tool maps (src, dst, ctx) to one command line, where src and dst
// are *locations*: { path } for a local folder or { host, path } for a folder reached over ssh. For ssh,
// ctx.ssh = { program, args } is the ssh command every tool is given (`ssh -F <config>`, or the counting
// wrapper), ctx.unisonServerDir the archive dir of the remote unison and ctx.ferryCache the remote
// XDG_CACHE_HOME where ferry keeps its uploaded agent (both private to the bench).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
export const FERRY_BUILD = join(REPO, 'dist', 'ferry.mjs');
/**
 * The ferry under test. snapshotFerry() points it at a copy of dist/ferry.mjs taken when the bench
 * starts, so a rebuild in the working tree during a run cannot mix two builds in one table (the bundle
 * is also the agent ferry uploads over ssh, so both ends run the snapshot).
 */
export let FERRY = FERRY_BUILD;

/** Copies the build into workDir and runs that from now on; returns its SHA-256 (hex), or null if unbuilt. */
export function snapshotFerry(workDir) {
  if (!fs.existsSync(FERRY_BUILD)) return null;
  const bytes = fs.readFileSync(FERRY_BUILD);
  FERRY = join(workDir, 'ferry.mjs');
  fs.writeFileSync(FERRY, bytes);
  return createHash('sha256').update(bytes).digest('hex');
}

export const fileHash = (path) =>
  fs.existsSync(path) ? createHash('sha256').update(fs.readFileSync(path)).digest('hex') : null;
const TIME = '/usr/bin/time';
const FLOORS = join(REPO, 'bench', 'floors');

const rsyncRoot = (l) => (l.host ? `${l.host}:${l.path}/` : `${l.path}/`);
const unisonRoot = (l) => (l.host ? `ssh://${l.host}/${l.path}` : l.path);
export const ferryExtraArgs = (process.env.FERRY_BENCH_ARGS ?? '').split(/\s+/).filter(Boolean);
const ferryRoot = (l) => (l.host ? `${l.host}:${l.path}` : l.path);
const remote = (src, dst) => Boolean(src.host || dst.host);
/** Words joined by blanks, as rsync -e, ferry -e and unison -sshargs split them again: no blank or quote inside. */
const joinWords = (words) => {
  const bad = words.find((w) => w === '' || /[\s'"\\]/.test(w));
  if (bad !== undefined)
    throw new Error(`bench: ssh command word ${JSON.stringify(bad)} has a blank or quote`);
  return words.join(' ');
};
export const sshString = (ssh, extra = []) => joinWords([ssh.program, ...ssh.args, ...extra]);

/** name -> { apt, version(), command(src, dst, ctx) -> { cmd, args, env? } } */
export const TOOLS = {
  rsync: {
    apt: 'rsync',
    version: () => firstLine('rsync', ['--version']),
    command: (src, dst, ctx) => ({
      cmd: 'rsync',
      args: [
        '-a',
        '--delete',
        ...(remote(src, dst) ? ['-e', sshString(ctx.ssh)] : []),
        rsyncRoot(src),
        rsyncRoot(dst),
      ],
    }),
  },
  unison: {
    apt: 'unison',
    version: () => firstLine('unison', ['-version']),
    // ctx.unisonDir keeps archives out of ~/.unison; a fresh dir means "first sync of fresh replicas".
    command: (src, dst, ctx) => ({
      cmd: 'unison',
      args: [
        unisonRoot(src),
        unisonRoot(dst),
        '-batch',
        '-auto',
        '-times',
        '-perms',
        '0',
        '-ignore',
        'Name .ferry',
        // The remote unison is the same binary on the same machine; its archives go to a private dir too.
        ...(remote(src, dst)
          ? [
              '-sshcmd',
              ctx.ssh.program,
              '-sshargs',
              joinWords(ctx.ssh.args),
              '-servercmd',
              joinWords(['env', `UNISON=${ctx.unisonServerDir}`, 'unison']),
            ]
          : []),
      ],
      env: { UNISON: ctx.unisonDir },
    }),
  },
  ferry: {
    apt: null,
    version: () => (fs.existsSync(FERRY) ? firstLine(process.execPath, [FERRY, '--version']) : null),
    command: (src, dst, ctx) => ({
      cmd: process.execPath,
      // FERRY_BENCH_ARGS adds flags (e.g. --no-fsync) so a run can show what durability costs.
      args: [
        FERRY,
        'sync',
        '-q',
        ...ferryExtraArgs,
        ...(remote(src, dst)
          ? ['-e', sshString(ctx.ssh, ['-o', `SetEnv=XDG_CACHE_HOME=${ctx.ferryCache}`])]
          : []),
        ferryRoot(src),
        ferryRoot(dst),
      ],
    }),
  },
  // Not a sync tool: the least work a straightforward tool written in Node has to do for the step
  // (bench/floors/*.mjs say what each leaves out). A target under the floor is marked `below floor`.
  // ctx.step names the step; null means no floor is defined for it (the run is skipped).
  floor: {
    apt: null,
    version: () => 'bench/floors/*.mjs on this node',
    command: (src, dst, ctx) => {
      const script = (name, ...args) => ({ cmd: process.execPath, args: [join(FLOORS, name), ...args] });
      const changed = ctx.step !== 'initial';
      if (!remote(src, dst)) {
        // A big file's floor is its one SHA-256 pass: reading and writing could overlap with it.
        if (ctx.big) return script('hash.mjs', join(src.path, 'big.bin'));
        return changed ? script('stat.mjs', src.path, dst.path) : script('copy.mjs', src.path, dst.path);
      }
      const ssh = [ctx.ssh.program, ...ctx.ssh.args, '--'];
      if (changed && !ctx.step.startsWith('insert'))
        return script('ssh-stat.mjs', ...ssh, src.path, dst.host, dst.path);
      if (!changed && ctx.big) return script('ssh-send.mjs', ...ssh, join(src.path, 'big.bin'), dst.host);
      if (!changed) return script('ssh-copy.mjs', ...ssh, src.path, dst.host, dst.path);
      return null;
    },
  },
};

/** Tools that are not compared against (their rows carry no RSS, wire bytes or tree checks). */
export const isFloor = (t) => t === 'floor';

function firstLine(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
  if (r.error || r.status !== 0) return null;
  return `${r.stdout}${r.stderr}`.split('\n').find((l) => l.trim()) ?? null;
}

/** True when GNU time is there to report peak RSS (`-f %M`). */
export const haveTime = (() => {
  const r = spawnSync(TIME, ['-f', '%M', 'true'], { encoding: 'utf8' });
  return !r.error && r.status === 0 && /^\d+\s*$/m.test(r.stderr);
})();

/**
 * Runs cmd once; resolves { ms, code, rssKB, stderr, timedOut }. Wall time is process.hrtime around the
 * spawned process (exit event); with GNU time the command runs under `/usr/bin/time -f %M`, which
 * costs ~1 ms and reports the largest RSS of the process tree it waited for, in KiB.
 */
export function runTimed({ cmd, args, env }, { logDir, timeoutMs = 15 * 60_000 }) {
  fs.mkdirSync(logDir, { recursive: true });
  const errFile = join(logDir, 'stderr.log');
  const rssFile = join(logDir, 'rss.txt');
  fs.rmSync(rssFile, { force: true });
  const errFd = fs.openSync(errFile, 'w');
  const [c, a] = haveTime ? [TIME, ['-f', '%M', '-o', rssFile, cmd, ...args]] : [cmd, args];
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(c, a, {
      stdio: ['ignore', 'ignore', errFd],
      env: { ...process.env, ...env },
      detached: true,
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, timeoutMs);
    const done = (code, error) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      clearTimeout(timer);
      fs.closeSync(errFd);
      let rssKB = null;
      if (haveTime && fs.existsSync(rssFile)) {
        const m = fs.readFileSync(rssFile, 'utf8').match(/^(\d+)\s*$/m);
        rssKB = m ? Number(m[1]) : null;
      }
      const stderr = error ? String(error.message) : tail(errFile);
      resolve({ ms, code: timedOut ? 'timeout' : code, rssKB, stderr, timedOut });
    };
    child.on('error', (e) => done(127, e));
    child.on('exit', (code, signal) => done(code ?? (signal ? `signal ${signal}` : 1)));
  });
}

function tail(file, max = 600) {
  const s = fs.readFileSync(file, 'utf8').replace(/^Command exited with non-zero status \d+\n/m, '');
  return s.length > max ? `...${s.slice(-max)}` : s;
}

/** Median wall time of `node -e 0` (and its RSS), to show how much of ferry's time is Node's start. */
export async function nodeStartup(logDir, runs = 5) {
  const rs = [];
  for (let i = 0; i < runs; i++)
    rs.push(await runTimed({ cmd: process.execPath, args: ['-e', '0'] }, { logDir }));
  return { ms: median(rs.map((r) => r.ms)), rssKB: median(rs.map((r) => r.rssKB).filter((x) => x != null)) };
}

export function median(xs) {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Tools whose binary is missing, with the apt package that provides each. */
export function missingTools(names) {
  return names
    .filter((n) => n !== 'ferry' && !isFloor(n) && TOOLS[n].version() == null)
    .map((n) => ({ name: n, apt: TOOLS[n].apt }));
}

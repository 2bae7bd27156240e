import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SyncSummary } from '../../src/engine/events.ts';

/** Absolute path of the repository root. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The built CLI (`npm run build`); tests never rebuild it. */
export const FERRY_BIN = join(REPO_ROOT, 'dist', 'ferry.mjs');

export interface RunOptions {
  /** Extra environment variables, merged over process.env. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Run as this (unprivileged) user through `runuser -u <user> --`. */
  readonly user?: string;
}

export interface FerryResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function command(args: readonly string[], opts: RunOptions): { file: string; argv: string[] } {
  if (!existsSync(FERRY_BIN)) throw new Error(`${FERRY_BIN} is missing: run \`npm run build\` first`);
  const node = [FERRY_BIN, ...args];
  if (opts.user !== undefined)
    return { file: 'runuser', argv: ['-u', opts.user, '--', process.execPath, ...node] };
  return { file: process.execPath, argv: node };
}

function environment(opts: RunOptions): NodeJS.ProcessEnv {
  return { ...process.env, NO_COLOR: '1', ...opts.env };
}

/** Starts `node dist/ferry.mjs ...args` and returns the child (stdout/stderr piped). */
export function spawnFerry(args: readonly string[], opts: RunOptions = {}): ChildProcess {
  const { file, argv } = command(args, opts);
  return spawn(file, argv, {
    cwd: opts.cwd ?? REPO_ROOT,
    env: environment(opts),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs `node dist/ferry.mjs ...args` to completion. A death by signal is reported as 128+n. */
export function runFerry(args: readonly string[], opts: RunOptions = {}): Promise<FerryResult> {
  const child = spawnFerry(args, opts);
  return collect(child);
}

/** Waits for a spawned ferry to exit and gathers its output. */
export function collect(child: ChildProcess): Promise<FerryResult & { readonly signal: string | null }> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (b: Buffer) => out.push(b));
  child.stderr?.on('data', (b: Buffer) => err.push(b));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({
        code: code ?? 128 + signalNumber(signal),
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  if (signal === 'SIGKILL') return 9;
  if (signal === 'SIGTERM') return 15;
  if (signal === 'SIGINT') return 2;
  return 0;
}

/** One JSON object per non-empty line of --json output; throws (failing the test) on a bad line. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l, i) => {
      const v: unknown = JSON.parse(l);
      if (typeof v !== 'object' || v === null || Array.isArray(v))
        throw new Error(`line ${i + 1} is not a JSON object: ${l}`);
      return v as Record<string, unknown>;
    });
}

/** The `done` event's summary: the engine's own type is the documented JSON schema. */
export type DoneSummary = SyncSummary;

/** The summary of the final `{"type":"done"}` line of --json output (throws if it is not last). */
export function doneSummary(stdout: string): DoneSummary {
  const lines = jsonLines(stdout);
  const last = lines[lines.length - 1];
  if (last?.type !== 'done') throw new Error(`last JSON line is not "done": ${JSON.stringify(last)}`);
  return last.summary as DoneSummary;
}

/** Events of one type from --json output. */
export function eventsOf(stdout: string, type: string): Record<string, unknown>[] {
  return jsonLines(stdout).filter((e) => e.type === type);
}

/** Creates an unprivileged local user once (tests run as root). Returns its uid and gid. */
export function ensureUser(name: string): { uid: number; gid: number } {
  const id = () => spawnSync('id', ['-u', name], { encoding: 'utf8' });
  let r = id();
  if (r.status !== 0) {
    const made = spawnSync('useradd', ['-m', name], { encoding: 'utf8' });
    r = id();
    if (r.status !== 0) throw new Error(`cannot create user ${name}: ${made.stderr}`);
  }
  const g = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { FerryError } from '../../core/errors.ts';
import { MARKER, splitCommand } from './remote-command.ts';

/** Where and how to reach one remote host. */
export interface SshTarget {
  readonly host: string;
  readonly user?: string;
  readonly port?: number;
  /** The ssh command (`-e`/FERRY_RSH), split like rsync does; default `ssh`. */
  readonly ssh?: string;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the ssh program itself could not be started. */
  readonly spawnError?: Error;
}

/** Keeps the last lines ssh (and the remote side) wrote to stderr, for error messages. */
export class StderrTail {
  #lines: string[] = [];
  #partial = '';
  push(chunk: Buffer): void {
    const parts = (this.#partial + chunk.toString('utf8')).split(/\r?\n/);
    this.#partial = parts.pop() ?? '';
    this.#lines.push(...parts);
    if (this.#lines.length > 40) this.#lines.splice(0, this.#lines.length - 40);
  }
  #all(): string[] {
    return this.#partial === '' ? this.#lines : [...this.#lines, this.#partial];
  }
  /** The last human-readable line (scripts' marker lines excluded), control characters escaped. */
  last(): string | undefined {
    const l = this.#all()
      .filter((x) => x.trim() !== '' && !x.startsWith(MARKER))
      .pop();
    return l === undefined ? undefined : printable(l.trim());
  }
  /** The text after a marker (`ferry-agent: no-node` -> 'no-node'), if the remote script printed one. */
  marker(): string | undefined {
    const m = this.#all()
      .filter((x) => x.startsWith(MARKER))
      .pop();
    return m === undefined ? undefined : printable(m.slice(MARKER.length).trim());
  }
}

function printable(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control characters is the point
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export interface SshChild {
  readonly child: ChildProcessWithoutNullStreams;
  readonly stderr: StderrTail;
  /** Resolves once ssh has exited and its pipes are closed. Never rejects. */
  readonly exited: Promise<Exit>;
  /** The ssh program as it was run (for messages). */
  readonly program: string;
}

/** A host or user name ssh cannot mistake for an option, with no blank or control character. */
function plainWord(w: string): boolean {
  return w !== '' && !w.startsWith('-') && [...w].every((c) => c > ' ' && c !== '\u007f');
}

/** argv for `ssh ... host remoteCommand`, with our transport options unless the user set them. */
export function sshArgv(t: SshTarget, remoteCommand: string): string[] {
  // A host or user that looks like an option would be read by ssh as one (I8).
  if (!plainWord(t.host)) throw new FerryError('USAGE', `'${printable(t.host)}' is not a valid host name`);
  if (t.user !== undefined && !plainWord(t.user))
    throw new FerryError('USAGE', `'${printable(t.user)}' is not a valid user name`);
  const base = splitCommand(t.ssh ?? 'ssh');
  const sets = (opt: string) => base.some((a) => a.toLowerCase().includes(opt.toLowerCase()));
  // -T: no tty (binary-clean pipes); -x: no X11; -e none: no escape character on stdin.
  const argv = [...base, '-T', '-x', '-e', 'none'];
  if (!sets('ServerAliveInterval')) argv.push('-o', 'ServerAliveInterval=15');
  if (!sets('ServerAliveCountMax')) argv.push('-o', 'ServerAliveCountMax=3');
  if (t.port !== undefined) argv.push('-p', String(t.port));
  if (t.user !== undefined) argv.push('-l', t.user);
  argv.push(t.host, remoteCommand);
  return argv;
}

/** Starts ssh running `remoteCommand` on the target, with all three stdio streams piped. */
export function startSsh(t: SshTarget, remoteCommand: string): SshChild {
  const [program, ...args] = sshArgv(t, remoteCommand) as [string, ...string[]];
  const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr = new StderrTail();
  child.stderr.on('data', (b: Buffer) => stderr.push(b));
  let spawnError: Error | undefined;
  child.on('error', (e) => {
    spawnError = e;
  });
  // A write after ssh is gone must not become an uncaught EPIPE; the exit explains what happened.
  child.stdin.on('error', () => {});
  const exited = new Promise<Exit>((resolve) => {
    child.once('close', (code, signal) =>
      resolve(spawnError ? { code, signal, spawnError } : { code, signal }),
    );
  });
  return { child, stderr, exited, program };
}

/** The exit, or undefined if ssh is still running after `ms`. */
export async function exitWithin(c: SshChild, ms: number): Promise<Exit | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([c.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Ends ssh: SIGTERM, then SIGKILL if it lingers. Resolves when it has exited. */
export async function stopSsh(c: SshChild): Promise<void> {
  if (c.child.exitCode !== null || c.child.signalCode !== null) {
    await c.exited;
    return;
  }
  c.child.kill('SIGTERM');
  if ((await exitWithin(c, 3000)) === undefined) {
    c.child.kill('SIGKILL');
    await c.exited;
  }
}

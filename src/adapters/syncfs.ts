import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { promisify } from 'node:util';

const run = promisify(execFile);

/*
 * Node has no syncfs(2); coreutils `sync -f DIR` is that call. Starting it from node costs a fork
 * of the whole (often 200+ MB) node process, ~5 ms of this thread per call, and a run makes two
 * calls per batch (a 100k-file copy: ~100). So each folder gets one small shell that runs
 * `sync -f` once per line it reads and answers with the exit status: the fork then happens in the
 * shell. The folder travels as an argument, never through the shell's parser.
 */
const LOOP = 'while read -r _; do sync -f "$1"; echo "$?"; done';

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

/** One shell looping over `sync -f DIR`; requests are answered in order. */
class Syncer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: Waiter[] = [];
  private buffered = '';
  dead: Error | undefined;

  constructor(dir: string) {
    this.child = spawn('sh', ['-c', LOOP, 'sh', dir], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (s: string) => this.onData(s));
    this.child.stderr.resume();
    this.child.on('error', (e) => this.fail(e));
    this.child.on('exit', (code, signal) => this.fail(new Error(`sync helper exited (${signal ?? code})`)));
    this.child.stdin.on('error', (e) => this.fail(e));
    this.idle();
  }

  request(): Promise<void> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (this.waiting.length === 1) this.busy();
      this.child.stdin.write('\n');
    });
  }

  private onData(s: string): void {
    this.buffered += s;
    for (let nl = this.buffered.indexOf('\n'); nl >= 0; nl = this.buffered.indexOf('\n')) {
      const status = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      const w = this.waiting.shift();
      if (status === '0') w?.resolve();
      else w?.reject(new Error(`sync -f exited with status ${status}`));
    }
    if (this.waiting.length === 0) this.idle();
  }

  private fail(e: Error): void {
    this.dead ??= e;
    for (const w of this.waiting.splice(0)) w.reject(this.dead);
    this.idle();
  }

  // Only a pending request keeps the process alive; an idle helper never delays exit, and its
  // shell ends when our end of its stdin closes.
  private busy(): void {
    this.child.ref();
    pipe(this.child.stdout).ref();
  }
  private idle(): void {
    this.child.unref();
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) pipe(s).unref();
  }
}

/** spawn() with 'pipe' stdio gives sockets, which can be unref'd; the stream types do not say so. */
function pipe(s: Readable | Writable): Socket {
  return s as Socket;
}

const syncers = new Map<string, Syncer>();
let syncfsWorks: boolean | undefined;

/** syncfs(2) on the filesystem holding `dir`; falls back to a whole-system `sync` without `sync -f`. */
export async function syncfs(dir: string): Promise<void> {
  if (syncfsWorks !== false) {
    try {
      let s = syncers.get(dir);
      if (s === undefined || s.dead) {
        s = new Syncer(dir);
        syncers.set(dir, s);
      }
      await s.request();
      syncfsWorks = true;
      return;
    } catch (e) {
      if (syncfsWorks === true) throw e;
      syncfsWorks = false;
    }
  }
  await run('sync', []);
}

import { FerryError } from '../../core/errors.ts';
import type {
  ApplyOp,
  ApplyReply,
  ChunkListReply,
  ChunkListRequest,
  FinishOptions,
  OpenInfo,
  OpenOptions,
  Piece,
  ReadReply,
  ReadRequest,
  ReplicaPort,
  ScanOptions,
  ScanResult,
  WireBytes,
  WriteOp,
} from '../../ports/replica.ts';
import { RemoteReplica } from '../remote/rpc-client.ts';
import { AGENT_VERSION, agentBundle } from './bundle.ts';
import { EXIT_NEED_UPLOAD, EXIT_NO_NODE, runCommand } from './remote-command.ts';
import { type Exit, exitWithin, type SshChild, type SshTarget, startSsh, stopSsh } from './ssh-process.ts';
import { uploadAgent } from './upload.ts';

export interface SshRootOptions extends SshTarget {
  /** The root exactly as the user typed it; names it in every message. */
  readonly label: string;
  /** Path on the remote host: `~/x` is under the login user's home, relative paths too. */
  readonly path: string;
  /** `--remote-ferry`: the far program to run instead of looking for ferry or node. */
  readonly remoteFerry?: string;
  /** A link silent this long while a reply is awaited is dead (default 30 s). */
  readonly keepaliveMs?: number;
}

interface Connection {
  readonly ssh: SshChild;
  readonly remote: RemoteReplica;
}

/**
 * A root on another host: `ferry serve --stdio` started through the system ssh client, spoken to
 * with the RemoteReplica protocol client. It connects on the first call (so building the list of
 * roots starts nothing), uploads the agent once if the host has node but no ferry, and turns every
 * way ssh can fail into a TRANSPORT error naming the root and quoting ssh's last words.
 */
export class SshReplica implements ReplicaPort {
  readonly label: string;
  readonly #o: SshRootOptions;
  #conn: Promise<Connection> | undefined;
  /** The ssh being started, so close() can stop a connection attempt midway. */
  #starting: SshChild | undefined;
  #closed = false;
  /** The link failed: close() stops ssh at once instead of waiting for a polite goodbye. */
  #broken = false;
  /** Every protocol client started, a failed first attempt (agent upload needed) included. */
  readonly #links: RemoteReplica[] = [];

  constructor(opts: SshRootOptions) {
    this.label = opts.label;
    this.#o = opts;
  }

  async open(opts: OpenOptions): Promise<OpenInfo> {
    return this.#with((r) => r.open(opts));
  }
  readIgnoreFile(): Promise<string | undefined> {
    return this.#with((r) => r.readIgnoreFile());
  }
  scan(opts: ScanOptions): Promise<ScanResult> {
    return this.#with((r) => r.scan(opts));
  }
  read(reqs: readonly ReadRequest[]): Promise<ReadReply[]> {
    return this.#with((r) => r.read(reqs));
  }
  chunkLists(reqs: readonly ChunkListRequest[]): Promise<ChunkListReply[]> {
    return this.#with((r) => r.chunkLists(reqs));
  }
  apply(ops: readonly ApplyOp[]): Promise<ApplyReply[]> {
    return this.#with((r) => r.apply(ops));
  }
  beginWrite(op: WriteOp): Promise<void> {
    return this.#with((r) => r.beginWrite(op));
  }
  appendWrite(path: string, pieces: readonly Piece[]): Promise<void> {
    return this.#with((r) => r.appendWrite(path, pieces));
  }
  finishWrite(path: string): Promise<ApplyReply> {
    return this.#with((r) => r.finishWrite(path));
  }
  finish(opts: FinishOptions): Promise<void> {
    return this.#with((r) => r.finish(opts));
  }

  /** Protocol bytes over ssh so far (the one-time agent upload is not part of the protocol). */
  wireBytes(): WireBytes {
    let sent = 0;
    let received = 0;
    for (const l of this.#links) {
      const b = l.wireBytes();
      sent += b.sent;
      received += b.received;
    }
    return { sent, received };
  }

  /** Lets the agent release its lock, then makes sure ssh is gone. Never throws; safe to call twice. */
  async close(): Promise<void> {
    this.#closed = true;
    const starting = this.#starting;
    if (starting) await stopSsh(starting);
    if (!this.#conn) return;
    let c: Connection;
    try {
      c = await this.#conn;
    } catch {
      return; // the attempt already stopped its ssh
    }
    if (this.#broken) {
      await stopSsh(c.ssh);
      return;
    }
    await c.remote.close();
    // The agent exits on end of input and ssh with it; a stuck one is stopped.
    if ((await exitWithin(c.ssh, 5000)) === undefined) await stopSsh(c.ssh);
  }

  async #with<T>(f: (r: RemoteReplica) => Promise<T>): Promise<T> {
    if (this.#closed) throw new FerryError('TRANSPORT', `the connection to ${this.label} was closed`);
    this.#conn ??= this.#connect();
    const c = await this.#conn;
    try {
      return await f(c.remote);
    } catch (e) {
      if (e instanceof FerryError && (e.code === 'TRANSPORT' || e.code === 'PROTOCOL')) this.#broken = true;
      throw await this.#explain(c.ssh, e);
    }
  }

  async #connect(): Promise<Connection> {
    let hash = 'none';
    try {
      hash = agentBundle().hash;
    } catch {
      // No bundle here: fine while the remote has ferry; an upload would report it.
    }
    const closed = () => new FerryError('TRANSPORT', `the connection to ${this.label} was closed`);
    for (let attempt = 0; ; attempt++) {
      if (this.#closed) throw closed();
      const cmd = runCommand({
        path: this.#o.path,
        version: AGENT_VERSION,
        hash,
        ...(this.#o.remoteFerry === undefined ? {} : { remoteFerry: this.#o.remoteFerry }),
      });
      const ssh = startSsh(this.#o, cmd);
      this.#starting = ssh;
      const remote = new RemoteReplica(
        { input: ssh.child.stdout, output: ssh.child.stdin },
        {
          label: this.label,
          software: `ferry ${AGENT_VERSION}`,
          ...(this.#o.keepaliveMs === undefined ? {} : { keepaliveMs: this.#o.keepaliveMs }),
        },
      );
      this.#links.push(remote);
      try {
        await remote.ready();
      } catch (e) {
        this.#starting = undefined;
        const exit = await this.#ended(ssh, e);
        if (exit?.code === EXIT_NEED_UPLOAD && attempt === 0 && !this.#closed) {
          await uploadAgent(this.#o, this.label);
          continue;
        }
        throw this.#startFailure(ssh, exit, e);
      }
      this.#starting = undefined;
      if (!this.#closed) return { ssh, remote };
      // close() came while we were connecting: it no longer knows about this ssh.
      await stopSsh(ssh);
      throw closed();
    }
  }

  /** After a failed start: how ssh ended (stopping it if the failure was ours, e.g. a bad hello). */
  async #ended(ssh: SshChild, e: unknown): Promise<Exit | undefined> {
    const ours = !(e instanceof FerryError) || e.code !== 'TRANSPORT';
    const exit = ours ? undefined : await exitWithin(ssh, 5000);
    if (exit === undefined) await stopSsh(ssh);
    return exit;
  }

  #startFailure(ssh: SshChild, exit: Exit | undefined, e: unknown): FerryError {
    const { host } = this.#o;
    const last = ssh.stderr.last();
    const said = last === undefined ? '' : `: ${last}`;
    if (exit?.spawnError) {
      return new FerryError(
        'TRANSPORT',
        `${this.label}: cannot run the ssh command '${ssh.program}': ${exit.spawnError.message}`,
        { hint: 'install the OpenSSH client, or name the ssh command with -e/--ssh or FERRY_RSH' },
      );
    }
    if (exit?.code === EXIT_NO_NODE) {
      const marker = ssh.stderr.marker() ?? '';
      const hint = 'install Node.js 20 or newer (e.g. apt-get install nodejs) or ferry itself';
      if (marker.startsWith('old-node')) {
        const version = marker.slice('old-node'.length).trim() || 'an old version';
        return new FerryError(
          'TRANSPORT',
          `${this.label}: node on ${host} is ${version}, too old for the ferry agent; ${hint}`,
        );
      }
      return new FerryError(
        'TRANSPORT',
        `${this.label}: neither ferry nor node (>= 20) is installed on ${host}; ${hint}`,
      );
    }
    if (exit?.code === EXIT_NEED_UPLOAD) {
      return new FerryError(
        'TRANSPORT',
        `${this.label}: the ferry agent uploaded to ${host} does not start (its cached copy fails verification)`,
        { hint: 'check the free space and permissions of ~/.cache/ferry on that host' },
      );
    }
    // ssh exits 255 for its own failures and also when the remote command dies by a signal, so
    // without ssh's own words (`said`) it cannot tell which: say both.
    if (exit?.code === 255) {
      const what = said === '' ? ', or the remote ferry was stopped before it answered' : said;
      return new FerryError('TRANSPORT', `${this.label}: ssh to ${host} failed${what}`, {
        hint: `check that \`ssh ${host}\` works from this machine; if it does, the remote ferry was killed (or ran out of memory) on ${host}`,
      });
    }
    if (exit?.signal) {
      return new FerryError(
        'TRANSPORT',
        `${this.label}: the ssh process on this machine was killed by ${exit.signal} before the remote ferry answered${said}`,
      );
    }
    // 2 is ferry's own "usage or bad input" (README): the far side refused this root, e.g. a
    // forced command (serve --root) asked for a path outside its folder. Bad input here too.
    if (exit?.code === 2) {
      return new FerryError('BAD_ROOT', `${this.label}: the remote ferry refused this root${said}`);
    }
    if (exit !== undefined) {
      return new FerryError(
        'TRANSPORT',
        `${this.label}: the remote ferry exited with code ${exit.code} before answering${said}`,
      );
    }
    if (e instanceof FerryError) return e;
    return new FerryError('INTERNAL', `internal error (a bug in ferry): ${String(e)}`, { cause: e });
  }

  /** A lost link gets ssh's own account of it appended, once ssh has said it; bad input names the root. */
  async #explain(ssh: SshChild, e: unknown): Promise<unknown> {
    if (e instanceof FerryError && e.code === 'PROTOCOL' && !e.message.includes(this.label)) {
      // Invalid input is the far side's fault: say which root sent it.
      return new FerryError('PROTOCOL', `${this.label}: ${e.message}`, {
        cause: e,
        ...(e.hint === undefined ? {} : { hint: e.hint }),
      });
    }
    if (!(e instanceof FerryError) || e.code !== 'TRANSPORT' || this.#closed) return e;
    const exit = await exitWithin(ssh, 1000);
    const notes: string[] = [];
    if (exit?.signal) notes.push(`ssh was killed by ${exit.signal}`);
    else if (exit?.code !== undefined && exit.code !== null && exit.code !== 0)
      notes.push(`ssh exited with code ${exit.code}`);
    const last = ssh.stderr.last();
    if (last !== undefined) notes.push(last);
    if (notes.length === 0) return e;
    return new FerryError('TRANSPORT', `${e.message} (${notes.join(': ')})`, {
      cause: e,
      ...(e.hint === undefined ? {} : { hint: e.hint }),
    });
  }
}

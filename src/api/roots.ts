import * as fs from 'node:fs';
import * as path from 'node:path';
import { offThreadSha256 } from '../adapters/hash-worker.ts';
import { LocalReplica } from '../adapters/local-replica.ts';
import { nodeFileSystem, sha256 } from '../adapters/node-fs.ts';
import { fileLayout, folderLayout, type ReplicaLayout, wasFileRoot } from '../adapters/replica-layout.ts';
import { SshReplica } from '../adapters/ssh/ssh-replica.ts';
import { FerryError } from '../core/errors.ts';
import type { Clock } from '../ports/clock.ts';
import type { ReplicaPort } from '../ports/replica.ts';

export type RootSpec =
  | { readonly kind: 'local'; readonly path: string }
  | {
      readonly kind: 'ssh';
      readonly user?: string;
      readonly host: string;
      readonly port?: number;
      readonly path: string;
    };

/**
 * `[user@]host:path` and `ssh://[user@]host[:port]/path` are remote (as rsync reads them: a colon
 * before the first slash); everything else is a local path. `./host:x` forces a local path.
 */
export function parseRoot(spec: string): RootSpec {
  if (spec.length === 0) throw new FerryError('USAGE', 'an empty root was given');
  const url = /^ssh:\/\/(?:([^@/]+)@)?([^/:]+)(?::(\d+))?(\/.*)?$/.exec(spec);
  if (url) {
    const [, user, host, port, p] = url;
    return {
      kind: 'ssh',
      host: host as string,
      path: p ?? '.',
      ...(user ? { user } : {}),
      ...(port ? { port: Number(port) } : {}),
    };
  }
  const colon = spec.indexOf(':');
  const slash = spec.indexOf('/');
  if (colon > 0 && (slash < 0 || colon < slash)) {
    const hostPart = spec.slice(0, colon);
    const at = hostPart.lastIndexOf('@');
    const host = at >= 0 ? hostPart.slice(at + 1) : hostPart;
    const rest = spec.slice(colon + 1);
    return {
      kind: 'ssh',
      host,
      path: rest === '' ? '.' : rest,
      ...(at >= 0 ? { user: hostPart.slice(0, at) } : {}),
    };
  }
  return { kind: 'local', path: path.resolve(spec) };
}

/** The path with every symlink resolved; a part that does not exist yet is kept as given. */
function canonicalPath(p: string): string {
  let head = p;
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(fs.realpathSync(head), ...rest);
    } catch {
      const up = path.dirname(head);
      if (up === head) return p;
      rest.unshift(path.basename(head));
      head = up;
    }
  }
}

/** A root that is a symlink to nothing cannot be created through (mkdir would fail inside it). */
function refuseDanglingLink(p: string): void {
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(p);
  } catch {
    return;
  }
  if (!st.isSymbolicLink() || fs.existsSync(p)) return;
  throw new FerryError('BAD_ROOT', `${p} is a symbolic link to ${fs.readlinkSync(p)}, which does not exist`, {
    hint: 'create the folder it points to, or give the folder itself as the root',
  });
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * Local layouts for a set of roots. If any root is an existing file (or a deleted one that was
 * synced as a file), every root is a single file (synk's use: `ferry sync ~/.bashrc
 * /mnt/b/.bashrc`); they must share a file name so that every replica agrees on the path.
 */
export function localLayouts(paths: readonly string[]): ReplicaLayout[] {
  const single = paths.some((p) => isFile(p) || wasFileRoot(p));
  if (!single) return paths.map(folderLayout);
  const names = new Set(paths.map((p) => path.basename(p)));
  if (names.size > 1) {
    throw new FerryError(
      'USAGE',
      `single-file roots must have the same file name (got ${[...names].join(', ')})`,
      {
        hint: 'rename one of them, or sync their folders instead',
      },
    );
  }
  return paths.map((p) => {
    if (fs.existsSync(p) && !isFile(p))
      throw new FerryError('USAGE', `${p} is a folder but another root is a single file`);
    return fileLayout(p);
  });
}

export function openLocal(label: string, layout: ReplicaLayout, clock: Clock): ReplicaPort {
  return new LocalReplica(label, layout, {
    fs: nodeFileSystem,
    newHasher: sha256,
    streamHasher: offThreadSha256,
    now: () => clock.now(),
  });
}

/** How remote roots are reached (`-e/--ssh`, FERRY_RSH, `--remote-ferry`). */
export interface RemoteOptions {
  /** The ssh command, split like rsync's `-e`; default `ssh`. */
  readonly ssh?: string;
  /** The program to run on the far side instead of looking for ferry or node there. */
  readonly remoteFerry?: string;
  /** A link silent this long while a reply is awaited is dead (default 30 s). */
  readonly linkTimeoutMs?: number;
}

export function openReplicas(
  specs: readonly string[],
  clock: Clock,
  remote: RemoteOptions = {},
): ReplicaPort[] {
  const roots = specs.map(parseRoot);
  const local = roots.flatMap((r, i) => (r.kind === 'local' ? [{ path: r.path, i }] : []));
  const paths = local.map((r) => r.path);
  // Compared as the filesystem resolves them: a symlinked path to a root is that root.
  for (const p of paths) refuseDanglingLink(p);
  const real = paths.map(canonicalPath);
  const dupAt = real.findIndex((p, i) => real.indexOf(p) !== i);
  if (dupAt >= 0) {
    const first = paths[real.indexOf(real[dupAt] as string)];
    const again = paths[dupAt];
    throw new FerryError(
      'USAGE',
      first === again
        ? `the root ${again} was given twice`
        : `the roots ${first} and ${again} are the same folder`,
    );
  }
  const dupSpec = specs.find((s, i) => roots[i]?.kind === 'ssh' && specs.indexOf(s) !== i);
  if (dupSpec !== undefined) throw new FerryError('USAGE', `the root ${dupSpec} was given twice`);
  real.forEach((a, i) => {
    real.forEach((b, j) => {
      if (a !== b && (b.startsWith(`${a}/`) || a === '/'))
        throw new FerryError('USAGE', `${paths[j]} is inside ${paths[i]}; roots must not nest`);
    });
  });
  // Remote roots learn at open whether the run is one of files (engine/open-roots.ts).
  const layouts = localLayouts(paths);
  const out: ReplicaPort[] = [];
  roots.forEach((r, i) => {
    if (r.kind === 'ssh') {
      out.push(
        new SshReplica({
          label: specs[i] as string,
          host: r.host,
          path: r.path,
          ...(r.user === undefined ? {} : { user: r.user }),
          ...(r.port === undefined ? {} : { port: r.port }),
          ...(remote.ssh === undefined ? {} : { ssh: remote.ssh }),
          ...(remote.remoteFerry === undefined ? {} : { remoteFerry: remote.remoteFerry }),
          ...(remote.linkTimeoutMs === undefined ? {} : { keepaliveMs: remote.linkTimeoutMs }),
        }),
      );
    } else {
      const k = local.findIndex((l) => l.i === i);
      out.push(openLocal(r.path, layouts[k] as ReplicaLayout, clock));
    }
  });
  return out;
}

import { FerryError } from '../core/errors.ts';
import type { OpenInfo, OpenOptions, ReplicaPort } from '../ports/replica.ts';
import { eachRoot, isRemote } from './each-root.ts';

/**
 * Opens every root and enforces I5 before anything is created or changed:
 * a root that another replica remembers syncing with must still carry that replica's marker.
 * A missing marker (unmounted disk, wiped folder) or a different one stops the run; only roots
 * no one has seen before are initialised.
 */
export async function openRoots(
  replicas: readonly ReplicaPort[],
  opts: {
    readonly dryRun: boolean;
    readonly durable: boolean;
    /** The command line's ignore rules: roots in this process start looking at their trees with them. */
    readonly warm?: readonly string[];
  },
): Promise<OpenInfo[]> {
  const look = { create: false, readOnly: opts.dryRun, durable: opts.durable };
  // While a root behind a link logs in and loads its index, the local roots look at their trees
  // (ReplicaPort.warm): their scans then mostly take what was seen meanwhile.
  const warm = replicas.some(isRemote) ? opts.warm : undefined;
  const opened = eachRoot(replicas, (r) =>
    r.open(look).then((info) => {
      if (warm !== undefined) void r.warm?.(warm);
      return info;
    }),
  );
  const first = await oneKind(replicas, await Promise.all(opened), look);
  const files = first.some((info) => info.singleFile);
  const remembered = new Map<string, string>(); // label -> replica id remembered by some peer
  for (const info of first) {
    for (const [id, p] of Object.entries(info.peers)) remembered.set(p.label, id);
  }
  first.forEach((info, i) => {
    const r = replicas[i] as ReplicaPort;
    const known = remembered.get(r.label);
    if (known === undefined) return;
    if (info.replicaId === '') {
      throw new FerryError(
        'MARKER_MISSING',
        `${r.label} was synced before but ${info.exists ? 'its .ferry marker is gone' : 'it does not exist now'}; refusing to treat it as empty`,
        {
          hint: 'if a disk is not mounted, mount it and run again; to really start this root afresh, sync it under a new path (the other roots remember this one by its path)',
        },
      );
    }
    if (known !== info.replicaId) {
      throw new FerryError(
        'MARKER_FOREIGN',
        `${r.label} holds replica ${info.replicaId}, but it was replica ${known} when last synced`,
        {
          hint: 'another folder was put in its place (or its .ferry was copied from elsewhere); check the path before syncing',
        },
      );
    }
  });
  const ids = new Map<string, string>();
  first.forEach((info, i) => {
    const label = (replicas[i] as ReplicaPort).label;
    if (info.replicaId === '') return;
    const other = ids.get(info.replicaId);
    if (other !== undefined)
      throw new FerryError('BAD_ROOT', `${label} and ${other} are the same replica`, {
        hint: 'give each root once',
      });
    ids.set(info.replicaId, label);
  });
  if (opts.dryRun) return first;
  return Promise.all(
    eachRoot(replicas, async (r, i) => {
      const info = first[i] as OpenInfo;
      if (info.replicaId !== '') return info;
      return r.open({
        create: true,
        readOnly: false,
        durable: opts.durable,
        ...(files ? { singleFile: true } : {}),
      });
    }),
  );
}

/**
 * A run syncs folders or single files, never a mix (synk's `ferry sync ~/.bashrc host:.bashrc`).
 * Once any root is a file, every other root is opened as that file too: one that does not exist
 * yet becomes one, an existing folder is refused. The files must share one name, the single path
 * every replica holds.
 */
async function oneKind(
  replicas: readonly ReplicaPort[],
  infos: readonly OpenInfo[],
  look: OpenOptions,
): Promise<OpenInfo[]> {
  if (!infos.some((info) => info.singleFile)) return [...infos];
  const out = await Promise.all(
    eachRoot(replicas, async (r, i) => {
      const info = infos[i] as OpenInfo;
      if (info.singleFile) return info;
      if (info.exists) {
        throw new FerryError(
          'USAGE',
          `${r.label} is a folder, but another root of this run is a single file`,
          {
            hint: 'sync folders with folders, and a file with files of the same name',
          },
        );
      }
      return r.open({ ...look, singleFile: true });
    }),
  );
  const names = [...new Set(out.map((info) => info.fileName ?? ''))];
  if (names.length > 1) {
    throw new FerryError(
      'USAGE',
      `single-file roots must have the same file name (got ${names.join(', ')})`,
      {
        hint: 'rename one of them, or sync their folders instead',
      },
    );
  }
  return out;
}

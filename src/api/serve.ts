import { homedir } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { serveReplica } from '../adapters/remote/rpc-server.ts';
import { AGENT_VERSION } from '../adapters/ssh/bundle.ts';
import { confine, expandPath, requestedPath } from '../adapters/ssh/forced-command.ts';
import { ReadOnlyReplica } from '../adapters/ssh/read-only.ts';
import { fromHex } from '../adapters/ssh/remote-command.ts';
import { systemClock } from '../adapters/system-clock.ts';
import { FerryError } from '../core/errors.ts';
import type { Clock } from '../ports/clock.ts';
import type { ReplicaPort } from '../ports/replica.ts';
import { localLayouts, openLocal } from './roots.ts';

export interface ServeOptions {
  /** The root to serve, as given (`~/x`, relative to the home folder, or absolute). */
  readonly path?: string;
  /** The same, hex-encoded (what the ssh client sends, so no shell ever sees the path). */
  readonly pathHex?: string;
  /**
   * Confinement (forced command in authorized_keys): serve only inside this folder. The path is
   * then taken from `originalCommand` (SSH_ORIGINAL_COMMAND) when that is set.
   */
  readonly confineTo?: string;
  readonly originalCommand?: string;
  /** Refuse every write; persist nothing. */
  readonly readOnly?: boolean;
  readonly input: Readable;
  readonly output: Writable;
  readonly clock?: Clock;
}

/** The absolute folder to serve, after confinement; throws USAGE for a refused request. */
export function servedPath(o: Omit<ServeOptions, 'input' | 'output' | 'clock'>): string {
  if (o.confineTo !== undefined) {
    // A forced command gets its path from what the client asked for; by hand, from the flags.
    const byHand = o.originalCommand === undefined && (o.pathHex !== undefined || o.path !== undefined);
    const asked = !byHand
      ? requestedPath(o.originalCommand)
      : o.pathHex !== undefined
        ? fromHex(o.pathHex)
        : (o.path ?? '');
    return confine(o.confineTo, asked);
  }
  if (o.path !== undefined && o.pathHex !== undefined)
    throw new FerryError('USAGE', 'give the path either as an argument or with --path-hex, not both');
  const p = o.pathHex !== undefined ? fromHex(o.pathHex) : o.path;
  if (p === undefined) throw new FerryError('USAGE', 'ferry serve needs the root to serve');
  // Like rsync: relative paths are taken from the login folder.
  return expandPath(p, homedir());
}

/**
 * `ferry serve --stdio`: the agent. Serves one root over a byte stream with the same ReplicaPort a
 * local root has. Resolves when the client hangs up; rejects when it sent something invalid.
 */
export async function serve(o: ServeOptions): Promise<void> {
  const root = servedPath(o);
  const [layout] = localLayouts([root]);
  if (layout === undefined) throw new FerryError('INTERNAL', 'internal error (a bug in ferry): no layout');
  // A confined agent keeps everything inside its folder: a single file's state would live elsewhere.
  if (o.confineTo !== undefined && layout.only !== undefined) {
    throw new FerryError(
      'USAGE',
      `${root} is a file; a confined agent (ferry serve --root) serves folders only`,
      {
        hint: 'sync the folder that holds the file',
      },
    );
  }
  const local = openLocal(
    root,
    o.confineTo === undefined ? layout : { ...layout, foldersOnly: true },
    o.clock ?? systemClock,
  );
  const port: ReplicaPort = o.readOnly ? new ReadOnlyReplica(local) : local;
  await serveReplica(port, { input: o.input, output: o.output }, { software: `ferry ${AGENT_VERSION}` });
}

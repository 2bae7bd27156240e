import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { META_DIR } from '../core/path.ts';

/** Where a replica's files and metadata live on this host. */
export interface ReplicaLayout {
  /** Absolute folder that relative paths resolve against. */
  readonly root: string;
  /** Metadata folder: <root>/.ferry, or a state dir for single-file roots. */
  readonly meta: string;
  /** Single-file root: the one relative path this replica holds. */
  readonly only?: string;
  /**
   * Never turn this folder root into a single file when a run asks for it (OpenOptions.singleFile):
   * a confined agent's state would otherwise live outside the folder it is confined to.
   */
  readonly foldersOnly?: boolean;
}

const stateHome = (): string => process.env.XDG_STATE_HOME || path.join(homedir(), '.local', 'state');

/** Where single-file roots keep their replica state ($XDG_STATE_HOME/ferry/files/<hash>). */
export function stateDirFor(absFile: string): string {
  const key = createHash('sha256').update(absFile).digest('hex').slice(0, 24);
  return path.join(stateHome(), 'ferry', 'files', key);
}

/**
 * This host's own record of a replica's generation ($XDG_STATE_HOME/ferry/replicas/<id>), kept
 * outside the root: a root restored from a backup, .ferry and all, does not restore it.
 */
export function hostRecordFor(replicaId: string): string {
  return path.join(stateHome(), 'ferry', 'replicas', replicaId);
}

export function folderLayout(absDir: string): ReplicaLayout {
  return { root: absDir, meta: path.join(absDir, META_DIR) };
}

/** A single file: its folder is the root, its name the one path, its state in the state dir. */
export function fileLayout(absFile: string): ReplicaLayout {
  return { root: path.dirname(absFile), meta: stateDirFor(absFile), only: path.basename(absFile) };
}

/**
 * A path that is gone but was synced as a single file (its state dir holds a marker): still a
 * file root, so a run after the file was deleted everywhere records that, instead of creating
 * folders named like the file.
 */
export function wasFileRoot(absPath: string): boolean {
  return !existsSync(absPath) && existsSync(path.join(stateDirFor(absPath), 'id'));
}

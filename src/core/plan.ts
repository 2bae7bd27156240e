import type { Entry, LiveEntry } from './entry.ts';

/**
 * The output of reconcile: what each replica must do so that all end in the same state.
 * Actions name replicas by their index in the run's root list.
 */
export type Action =
  /** Make `entry` (live) exist at its path on `replica`; `current` is what is there now (if anything). */
  | {
      readonly type: 'put';
      readonly replica: number;
      readonly entry: LiveEntry;
      readonly current: Entry | undefined;
      readonly sources: readonly number[];
    }
  /** Remove the live `current` from `replica` (its content goes to history first, I1). */
  | {
      readonly type: 'delete';
      readonly replica: number;
      readonly entry: Entry & { kind: 'tombstone' };
      readonly current: LiveEntry;
    }
  /** Move a conflict loser aside on the replica that holds it: path -> to (I7: renamed, never deleted). */
  | {
      readonly type: 'rename';
      readonly replica: number;
      readonly path: string;
      readonly to: string;
      readonly entry: LiveEntry;
      readonly current: LiveEntry;
    }
  /** Index only: the disk is already right, adopt this vector/tombstone. */
  | { readonly type: 'record'; readonly replica: number; readonly entry: Entry };

export interface Conflict {
  readonly path: string;
  /** The replica id that made the losing change (for status and for the conflict copy's name). */
  readonly loserMadeBy: string;
  readonly winnerMadeBy: string;
  /** Where the losing version is kept: a conflict copy path, or 'history' (newest/prefer/mirror). */
  readonly keptAs: string;
  readonly rule: ConflictRule['kind'];
}

export interface Plan {
  readonly actions: readonly Action[];
  readonly conflicts: readonly Conflict[];
  /** Deletions undone because another replica modified the path (modification beats deletion). */
  readonly resurrected: readonly string[];
}

export type ConflictRule =
  | { readonly kind: 'keep-both' }
  | { readonly kind: 'newest' }
  | { readonly kind: 'prefer'; readonly replica: number };

export type SyncMode = 'sync' | 'mirror';

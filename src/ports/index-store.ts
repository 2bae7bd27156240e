import type { Entry } from '../core/entry.ts';

/**
 * What a stat told us about a path when we last looked: the stat cache that decides whether a
 * file must be rehashed, and the identity checked again just before a replace or delete (I4).
 */
export interface StatStamp {
  readonly size: number;
  readonly mtime: number; // ms, with fraction (fs.Stats.mtimeMs)
  readonly ctime: number; // ms, with fraction (fs.Stats.ctimeMs)
  readonly ino: number;
}

export interface IndexRecord {
  readonly entry: Entry;
  /** Absent for tombstones and for entries recorded before the path existed on disk. */
  readonly stat?: StatStamp;
}

/** Replica-level facts kept beside the entries. */
export interface ReplicaMeta {
  readonly replicaId: string;
  readonly createdAt: number;
  /** Last completed sync run that included this replica (ms since epoch), if any. */
  readonly lastSync?: number;
  /** Peers this replica has synced with: id -> how the user named that root, and when. */
  readonly peers: Readonly<Record<string, { readonly label: string; readonly lastSync: number }>>;
  /**
   * Settled token of the last converged run (src/engine/settled.ts). Valid only while no change
   * was recorded after this metadata: a store drops it on load when changes follow it.
   */
  readonly settled?: string;
  /**
   * The key this replica's changes bump in version vectors, when it is not `replicaId`: set once
   * the index had to be rebuilt, so no counter this replica used before is ever used again.
   */
  readonly vvKey?: string;
  /**
   * How many runs this replica finished (engine/generations.ts), and the highest count it has seen
   * for every replica it met, itself included. A replica whose count is below what a peer has
   * seen for it was put back to an earlier state (a restored backup, a copied .ferry).
   */
  readonly gen?: number;
  readonly knownGens?: Readonly<Record<string, number>>;
}

export interface IndexSnapshot {
  readonly meta: ReplicaMeta;
  readonly records: ReadonlyMap<string, IndexRecord>;
  /**
   * What applies were about to write at paths that no record followed (a run killed between a
   * rename and the index append). Never a record: the scan adopts a hint's version vector only
   * for a path that holds exactly the hinted content, as the apply would have recorded it.
   */
  readonly hints?: ReadonlyMap<string, IndexRecord>;
}

/** One change to the index: set a path's record, or forget the path (record null). */
export interface IndexChange {
  readonly path: string;
  readonly record: IndexRecord | null;
}

/**
 * Persistent per-replica index. Crash contract: after `append` or `writeMeta` resolves, the change
 * survives kill -9 and power loss; a torn tail left by a crash is ignored on the next `load`, never
 * a reason to lose earlier records. `load` of a store that was never written returns undefined.
 */
export interface IndexStore {
  load(): Promise<IndexSnapshot | undefined>;
  /**
   * `durable: false` skips the sync of the append itself: for changes whose loss in a power cut
   * only makes the index lag (I3), never ahead; the next synced write covers them anyway.
   */
  append(changes: readonly IndexChange[], opts?: { readonly durable?: boolean }): Promise<void>;
  /** Hints (IndexSnapshot.hints) for changes about to be applied; not synced (a lost hint costs nothing). */
  appendHints(changes: readonly IndexChange[]): Promise<void>;
  writeMeta(meta: ReplicaMeta): Promise<void>;
  /** Rewrites the store as exactly this snapshot (atomically), dropping the log's history. */
  compact(snapshot: IndexSnapshot): Promise<void>;
  close(): Promise<void>;
}

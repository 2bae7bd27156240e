import type { Chunk, Entry, FileEntry, LiveEntry } from '../core/entry.ts';
import type { Problem } from '../core/problem.ts';
import type { StatStamp } from './index-store.ts';

/**
 * One replica root as the engine sees it, wherever it lives. The local adapter implements it with
 * node:fs; the ssh adapter implements it by talking to `ferry serve --stdio` on the far host. Every
 * method is one request: arguments and results are plain data (structured-clone and msgpack safe),
 * so the same interface crosses a worker boundary or a wire unchanged.
 */
export interface ReplicaPort {
  /** How the user named this root (for messages); never parsed again. */
  readonly label: string;

  /** Check the marker (I5), take the lock, create the root if allowed. */
  open(opts: OpenOptions): Promise<OpenInfo>;

  /** The raw text of the root's .ferryignore, if any (read before the scan so rules can be shared). */
  readIgnoreFile(): Promise<string | undefined>;

  /** Walk the root, update and persist the index, return every known entry plus problems. */
  scan(opts: ScanOptions): Promise<ScanResult>;

  /**
   * Optional, for a root in this process: start looking at the tree now (listings, stats, hashes
   * of what changed), with the rules known so far, while the run waits for roots behind links;
   * the next scan then takes what this saw instead of asking the filesystem again. Reads only.
   * Resolves when the look is done; never rejects.
   */
  warm?(ignore: readonly string[]): Promise<void>;

  /** Read byte ranges of files in this root, each verified against its expected hash. */
  read(reqs: readonly ReadRequest[]): Promise<ReadReply[]>;

  /**
   * The caller is done with these bytes from read(): written (or sent) and acknowledged, and no
   * view of them is kept. The replica may fill their memory again. Optional: a no-op for replicas
   * whose reads do not keep buffers.
   */
  recycle?(data: readonly Uint8Array[]): void;

  /**
   * Cut files of this root into fine chunks (FINE_CHUNK_PARAMS, chunking/fastcdc.ts) as they are
   * now, one reply per request, in order: only while a file still has the requested SHA-256, so a
   * list never describes other bytes than the engine expects. Lists are made on demand and never
   * stored; the engine uses them to send only the parts of a small edited file the target lacks.
   */
  chunkLists(reqs: readonly ChunkListRequest[]): Promise<ChunkListReply[]>;

  /** Apply a batch of operations with the I1/I2/I4 rules; one reply per op, in order. */
  apply(ops: readonly ApplyOp[]): Promise<ApplyReply[]>;

  /** Large files arrive in several messages: begin, append pieces, then finish (or abort). */
  beginWrite(op: WriteOp): Promise<void>;
  appendWrite(path: string, pieces: readonly Piece[]): Promise<void>;
  finishWrite(path: string): Promise<ApplyReply>;

  /** Record the run: peers, last sync time; compacts the index when the log grew large. */
  finish(opts: FinishOptions): Promise<void>;

  /** Release the lock and resources. Safe to call twice and after a failure. */
  close(): Promise<void>;

  /**
   * Bytes this root's link carried so far, both ways (roots behind a network link only; a root on
   * this host has no wire and leaves it out). Read by the engine after close() for the summary.
   */
  wireBytes?(): WireBytes;
}

export interface WireBytes {
  /** Bytes sent to the root: protocol frames with their headers, hello included. */
  readonly sent: number;
  /** Bytes received from it, counted the same way. */
  readonly received: number;
}

export interface OpenOptions {
  /** Create the root folder (and marker) when it does not exist. */
  readonly create: boolean;
  /** Write nothing, take no lock: used by dry runs. */
  readonly readOnly: boolean;
  /**
   * Make every applied change durable before recording it (default true). false (--no-fsync)
   * keeps temp-file + rename, so a killed ferry still never leaves a torn file, but a power loss
   * may lose the last writes; for throwaway copies and benchmarks against tools that never sync.
   */
  readonly durable?: boolean;
  /**
   * Another root of the run is a single file, so open this one as that file (its path names the
   * file, state kept outside the folder): allowed only while nothing exists at the path.
   */
  readonly singleFile?: boolean;
}

export interface OpenInfo {
  /** Empty when the root has no marker yet and `create` was false. */
  readonly replicaId: string;
  /** Whether the root folder (or file) exists at all. */
  readonly exists: boolean;
  /** True when the root (or its marker) was created just now by this run. */
  readonly fresh: boolean;
  readonly lastSync: number | undefined;
  readonly peers: Readonly<Record<string, { readonly label: string; readonly lastSync: number }>>;
  /** A root that is a single file rather than a folder (synk's use). */
  readonly singleFile: boolean;
  /** With singleFile: the file's name, the one path this replica holds (every root must agree). */
  readonly fileName?: string;
  /**
   * The settled token the index was left with (src/engine/settled.ts), present only while nothing
   * was recorded since: the engine uses it to ask for a scan relative to that state.
   */
  readonly settled?: string;
  /**
   * The version-vector key this replica's own changes count under, when it is not its replica id
   * (a replica that lost its index goes on under a new key: adapters/local-replica.ts rekeyed).
   * Conflict copies it made are named by its replica id all the same.
   */
  readonly vvKey?: string;
  /** ReplicaMeta.gen and knownGens, for engine/generations.ts (absent: an index from before them). */
  readonly gen?: number;
  readonly knownGens?: Readonly<Record<string, number>>;
}

export interface ScanOptions {
  /** .gitignore-syntax rules, already merged from every root and the command line. */
  readonly ignore: readonly string[];
  /** Do not persist anything (dry run). */
  readonly dryRun: boolean;
  /** Files at or above this size get content-defined chunk lists. */
  readonly chunkThreshold?: number;
  /**
   * Send only what changed since the converged state named by this settled token, if the index
   * was opened in exactly that state (OpenInfo.settled); else send everything. The reply says
   * which it did (ScanResult.relativeTo). See src/engine/baseline.ts.
   */
  readonly relativeTo?: string;
  /**
   * Also report, for every path this scan changed, the entry the index held before (in-process
   * replicas only: never sent over a link). Lets the engine rebuild the converged state.
   */
  readonly priors?: boolean;
  /**
   * Peers have seen a later state of this replica than the one it is in (engine/generations.ts):
   * count its changes under this new version-vector key from now on, as after an index loss, so
   * a change made since meets its peers' versions as a conflict, never as an older version.
   */
  readonly rekey?: string;
}

export interface ScanResult {
  readonly entries: readonly Entry[];
  /** Stat stamps of live entries as last seen, for I4 expectations. Same order as entries. */
  readonly stats: readonly (StatStamp | null)[];
  readonly problems: readonly Problem[];
  /**
   * Paths (and their subtrees) this scan could not see: kept as they were, never deleted, never
   * written to this run.
   */
  readonly unseen: readonly string[];
  readonly hashedBytes: number;
  /**
   * The settled token of the last run that left this replica converged with its peers, present only
   * while nothing has changed here since (see src/engine/settled.ts).
   */
  readonly settled?: string;
  /**
   * Leading bytes this replica kept of large files whose transfer was cut off, by the SHA-256 of
   * the whole file: a local piece may name one as `partialSource(hash)` (core/path.ts) to resume
   * instead of receiving those bytes again. Absent when there are none.
   */
  readonly partials?: readonly PartialInfo[];
  /**
   * Present when the result is relative to this settled token (ScanOptions.relativeTo): `entries`
   * and `stats` then hold only the paths this scan changed; every other path is as it was in the
   * converged state that token names.
   */
  readonly relativeTo?: string;
  /** With ScanOptions.priors: each changed path's entry before this scan (null: not indexed). */
  readonly priors?: readonly Prior[];
}

export interface Prior {
  readonly path: string;
  readonly entry: Entry | null;
}

export interface PartialInfo {
  /** SHA-256 of the file the partial is a prefix of. */
  readonly hash: string;
  /** Bytes held: a candidate only, the assembled file is verified against `hash` (I2). */
  readonly size: number;
}

export interface ReadRequest {
  readonly path: string;
  readonly offset: number;
  readonly length: number;
  /**
   * SHA-256 the bytes must have, checked by the reader. Optional: the receiver verifies every
   * assembled file against its full hash anyway, so this only localises a bad chunk early.
   */
  readonly hash?: string;
}

export type ReadReply =
  | { readonly ok: true; readonly data: Uint8Array }
  | { readonly ok: false; readonly problem: Problem };

/** chunkLists cuts files up to this size; a larger one gets a problem reply. */
export const CHUNK_LIST_MAX_FILE = 8 << 20;

/** Hex digits of a fine chunk's hash that travel and that chunks are matched by (4 bytes). */
export const FINE_KEY_HEX = 8;

export interface ChunkListRequest {
  readonly path: string;
  /** SHA-256 the file must have; another content gets a 'changed-during-sync' reply. */
  readonly hash: string;
}

/**
 * The file's fine chunks in order, sizes adding up to its size. Hashes are full SHA-256 from a
 * replica in this process and FINE_KEY_HEX-digit prefixes from one behind a link
 * (protocol/wire-fine.ts): either way they only pick candidates, and the target verifies the whole
 * file it assembles.
 */
export type ChunkListReply =
  | { readonly ok: true; readonly chunks: readonly Chunk[] }
  | { readonly ok: false; readonly problem: Problem };

/**
 * What the apply must find at a path before touching it (I4): the stat from the scan, or absent.
 * A mismatch skips the op and reports 'changed-during-sync'.
 */
export type Expect =
  | { readonly kind: 'absent' }
  | { readonly kind: 'entry'; readonly stat: StatStamp | null; readonly entry: LiveEntry }
  /**
   * For a replica whose scan was relative (ScanResult.relativeTo): the engine has no stat for the
   * path, so the replica's own index must still hold this entry (same content and vector), and
   * the path must still match the stat that index recorded.
   */
  | { readonly kind: 'indexed'; readonly entry: LiveEntry };

/** Bytes for a file: sent inline, or copied from a file already in this replica. */
export type Piece =
  | { readonly kind: 'data'; readonly data: Uint8Array }
  | {
      readonly kind: 'local';
      /** A path in this replica, or `partialSource(hash)` for a kept partial (ScanResult.partials). */
      readonly path: string;
      readonly offset: number;
      readonly length: number;
      /**
       * SHA-256 the copied bytes must have, checked as they are read. Absent for a run of chunks
       * found by hash prefix: the file's own SHA-256, checked before any rename, covers them.
       */
      readonly hash?: string;
    };

export interface WriteOp {
  readonly op: 'write';
  readonly path: string;
  readonly entry: FileEntry;
  readonly expect: Expect;
  /** Inline pieces (small files). Empty when the content follows through appendWrite. */
  readonly pieces: readonly Piece[];
  /**
   * The entry's chunk list goes with the op to a replica behind a link, which then hashes the
   * received bytes in those chunks instead of cutting them itself (apply/temp-file.ts ChunkMode).
   * Set for large files that travel mostly whole: the list costs 12 bytes per 64 KiB sent.
   */
  readonly withChunks?: boolean;
}

export type ApplyOp =
  | WriteOp
  | {
      readonly op: 'mkdir';
      readonly path: string;
      readonly entry: Entry & { kind: 'dir' };
      readonly expect: Expect;
    }
  | {
      readonly op: 'symlink';
      readonly path: string;
      readonly entry: Entry & { kind: 'symlink' };
      readonly expect: Expect;
    }
  | {
      readonly op: 'delete';
      readonly path: string;
      readonly entry: Entry & { kind: 'tombstone' };
      readonly expect: Expect;
    }
  | {
      readonly op: 'rename';
      readonly path: string;
      readonly to: string;
      readonly entry: LiveEntry;
      readonly expect: Expect;
    }
  /** Index only: adopt a vector (or a tombstone) for content that is already right on disk. */
  | { readonly op: 'record'; readonly path: string; readonly entry: Entry };

export type ApplyReply =
  | { readonly ok: true; readonly path: string; readonly bytesWritten: number }
  | { readonly ok: false; readonly path: string; readonly problem: Problem };

export interface FinishOptions {
  readonly dryRun: boolean;
  readonly now: number;
  /** Every replica in this run: id -> label, so each records who it met. */
  readonly peers: Readonly<Record<string, string>>;
  /** Every replica converged in this run: remember this token (absent: forget any old one). */
  readonly settled?: string;
  /** The run's generations (engine/generations.ts): each replica keeps its own and all it saw. */
  readonly gens?: Readonly<Record<string, number>>;
}

import type { Conflict } from '../core/plan.ts';
import type { Problem } from '../core/problem.ts';
import type { ReplicaPort } from '../ports/replica.ts';

/**
 * What a run reports while it works. The CLI renders these as text, a progress bar, or one JSON
 * object per line (--json); the schema is documented in README "JSON output" and must stay
 * backward compatible: add fields, never rename or remove them.
 */
export type SyncEvent =
  | {
      readonly type: 'start';
      readonly roots: readonly RootInfo[];
      readonly dryRun: boolean;
      readonly mode: string;
    }
  | {
      readonly type: 'scanned';
      readonly root: string;
      readonly entries: number;
      readonly hashedBytes: number;
    }
  | {
      readonly type: 'plan';
      readonly items: number;
      readonly bytes: number;
      /** Every root was still as the last converged run left it: nothing was compared (settled.ts). */
      readonly settled: boolean;
    }
  | {
      readonly type: 'item';
      readonly root: string;
      readonly action: ItemAction;
      readonly path: string;
      readonly to?: string;
      readonly bytes?: number;
    }
  | {
      readonly type: 'progress';
      readonly doneItems: number;
      readonly totalItems: number;
      readonly doneBytes: number;
      readonly totalBytes: number;
    }
  | { readonly type: 'conflict'; readonly conflict: Conflict }
  | { readonly type: 'problem'; readonly problem: Problem }
  | { readonly type: 'done'; readonly summary: SyncSummary };

export type ItemAction = 'copy' | 'update' | 'mkdir' | 'symlink' | 'delete' | 'conflict-rename' | 'record';

export interface RootInfo {
  readonly label: string;
  readonly replicaId: string;
  readonly fresh: boolean;
  /**
   * Present (true) when another root has seen a later state of this one: it was restored from a
   * backup or its .ferry copied (engine/generations.ts); its changes since are kept as conflicts.
   */
  readonly rewound?: boolean;
}

export interface SyncSummary {
  readonly roots: number;
  readonly copied: number;
  readonly deleted: number;
  readonly dirsMade: number;
  readonly conflicts: number;
  readonly problems: number;
  readonly bytesTransferred: number;
  /** Bytes that did not need to travel because the target already had them (delta, renames). */
  readonly bytesReused: number;
  /**
   * Protocol bytes exchanged with roots on other hosts, both ways: every frame with its header,
   * hellos included; not ssh's own encryption and packet overhead (rsync's --stats counts the
   * same way), not the one-time agent upload. 0 when every root is on this host.
   */
  readonly bytesOnWire: number;
  /** The part of bytesOnWire sent from this host to the remote roots. */
  readonly bytesOnWireSent: number;
  /** The part of bytesOnWire received from the remote roots. */
  readonly bytesOnWireReceived: number;
  readonly dryRun: boolean;
  readonly inSync: boolean;
}

export type EventSink = (e: SyncEvent) => void;

export type WireTotals = Pick<SyncSummary, 'bytesOnWire' | 'bytesOnWireSent' | 'bytesOnWireReceived'>;
/** The summary as the run counts it, before the links are closed and their bytes known. */
export type RunCounts = Omit<SyncSummary, keyof WireTotals>;

/** Sums what the roots' links carried (ports without a wire report nothing). */
export function wireTotals(ports: readonly Pick<ReplicaPort, 'wireBytes'>[]): WireTotals {
  let sent = 0;
  let received = 0;
  for (const p of ports) {
    const b = p.wireBytes?.();
    sent += b?.sent ?? 0;
    received += b?.received ?? 0;
  }
  return { bytesOnWire: sent + received, bytesOnWireSent: sent, bytesOnWireReceived: received };
}

import type { Entry } from '../core/entry.ts';
import { FerryError } from '../core/errors.ts';
import type { OpenInfo, ReplicaPort, ScanOptions, ScanResult } from '../ports/replica.ts';
import { isRemote } from './each-root.ts';

/**
 * Relative scans: a replica behind a link should not resend its whole index when little changed.
 *
 * A converged run leaves every replica with the same entries and one settled token
 * (engine/settled.ts); a replica whose index was opened exactly in that state (OpenInfo.settled)
 * can send only the paths its scan changed (ScanResult.relativeTo). The engine rebuilds the rest
 * from the converged state, which it gets from one in-process replica that was opened in the same
 * state: that replica's scan (sent in full anyway, no link) plus the entries its changed paths had
 * before (ScanResult.priors). An in-process replica is required because priors never travel.
 *
 * What must stay true: a relative result is only used with the token it names, and an operation
 * planned against a path the engine did not see (no stat from that replica) carries an 'indexed'
 * expectation, so the replica itself checks that its index holds that very entry (apply/guard.ts).
 */
export interface Baseline {
  /** The settled token the relative scans are relative to. */
  readonly token: string;
  /** The in-process replica whose scan (with priors) gives the converged state. */
  readonly provider: number;
}

export function chooseBaseline(
  replicas: readonly ReplicaPort[],
  infos: readonly OpenInfo[],
  digest: string,
): Baseline | undefined {
  const usable = (i: number) => infos[i]?.settled?.endsWith(`.${digest}`) === true;
  for (let p = 0; p < replicas.length; p++) {
    if (!usable(p) || isRemote(replicas[p])) continue;
    const token = infos[p]?.settled as string;
    if (infos.some((info, i) => i !== p && info.settled === token)) return { token, provider: p };
  }
  return undefined;
}

/** What each replica is asked to scan with. */
export function scanOptionsFor(
  base: ScanOptions,
  infos: readonly OpenInfo[],
  baseline: Baseline | undefined,
): ScanOptions[] {
  return infos.map((info, i) => {
    if (!baseline) return base;
    if (i === baseline.provider) return { ...base, priors: true };
    return info.settled === baseline.token ? { ...base, relativeTo: baseline.token } : base;
  });
}

export const isRelative = (scan: ScanResult, baseline: Baseline | undefined): boolean =>
  baseline !== undefined && scan.relativeTo === baseline.token;

/**
 * Every replica's full entries by path: a full scan as it came, a relative one as the converged
 * state with its changes on top.
 */
export function entriesByReplica(
  scans: readonly ScanResult[],
  baseline: Baseline | undefined,
): Map<string, Entry>[] {
  const own = (s: ScanResult) => new Map(s.entries.map((e) => [e.path, e]));
  const full = scans.map((s) => (isRelative(s, baseline) ? undefined : own(s)));
  const relative = scans.flatMap((s, i) => (isRelative(s, baseline) ? [i] : []));
  if (!baseline || relative.length === 0) return full as Map<string, Entry>[];
  const converged = convergedState(full[baseline.provider], scans[baseline.provider]);
  relative.forEach((i, k) => {
    // The last one may take the converged map itself: nobody reads it afterwards.
    const map = k === relative.length - 1 ? converged : new Map(converged);
    for (const e of (scans[i] as ScanResult).entries) map.set(e.path, e);
    full[i] = map;
  });
  return full as Map<string, Entry>[];
}

/** The provider's entries as they were before its scan: its scan with every change undone. */
function convergedState(
  now: Map<string, Entry> | undefined,
  scan: ScanResult | undefined,
): Map<string, Entry> {
  if (!now || !scan?.priors) {
    throw new FerryError('INTERNAL', 'internal error (a bug in ferry): the baseline replica sent no priors');
  }
  const map = new Map(now);
  for (const p of scan.priors) {
    if (p.entry === null) map.delete(p.path);
    else map.set(p.path, p.entry);
  }
  return map;
}

/**
 * How many entries a replica holds, for the `scanned` event of a settled run (no state is built
 * then): a settled run changed no entry anywhere, so a relative replica holds what the provider does.
 */
export function settledCount(
  scans: readonly ScanResult[],
  i: number,
  baseline: Baseline | undefined,
): number {
  const s = scans[i] as ScanResult;
  return isRelative(s, baseline) && baseline
    ? (scans[baseline.provider]?.entries.length ?? 0)
    : s.entries.length;
}

import { createHash, randomBytes } from 'node:crypto';
import type { ScanResult } from '../ports/replica.ts';

/**
 * Settled tokens: the fast path for a run in which nothing changed.
 *
 * A run that ends with every replica converged (no problem, no conflict, nothing unseen) gives all
 * its replicas one fresh token, stored with each replica's index metadata. A replica reports the
 * token back from a later scan only while its index is exactly as that run left it: any change
 * recorded since (by a scan, an apply, or a crash-interrupted run) drops the token, in memory and
 * in the log store alike. When every replica of a run reports the same token, they were converged
 * at the end of one run and none has changed since, so reconcile would plan nothing: it is skipped.
 *
 * The token also carries a digest of the ignore rules, because the same trees under other rules
 * are other replica states (paths that were ignored may now take part).
 */
export function rulesDigest(ignore: readonly string[]): string {
  return createHash('sha256')
    .update(JSON.stringify([BUILT_IN_RULES, ...ignore]))
    .digest('hex')
    .slice(0, 16);
}

/**
 * Names what ferry itself leaves out of every scan; change it when that changes, so no token
 * made under the old exclusions vouches for a state under the new ones (`.ferry` at any depth).
 */
const BUILT_IN_RULES = 'builtin:nested-meta';

export function newSettledToken(digest: string): string {
  return `${randomBytes(8).toString('hex')}.${digest}`;
}

/** The token every scan reports, if they all report the same one made under these rules. */
export function commonSettledToken(scans: readonly ScanResult[], digest: string): string | undefined {
  const first = scans[0]?.settled;
  if (first === undefined || !first.endsWith(`.${digest}`)) return undefined;
  const clean = scans.every((s) => s.settled === first && s.problems.length === 0 && s.unseen.length === 0);
  return clean ? first : undefined;
}

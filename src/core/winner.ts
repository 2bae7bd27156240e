import type { Entry } from './entry.ts';
import type { ConflictRule } from './plan.ts';

interface Candidate {
  readonly entry: Entry;
  readonly holders: readonly number[];
}

/**
 * One total order over concurrent live versions, so every host picks the same winner (I7):
 * a directory first (it may hold children; it is never renamed away), then the newer mtime, then
 * the larger content key. `prefer` picks the preferred replica's version when it is in the
 * conflict; otherwise the order decides and both are kept.
 */
export function pickWinner<T extends Candidate>(
  live: readonly T[],
  rule: ConflictRule,
): { readonly winner: T; readonly keepLosers: boolean } {
  const ordered = [...live].sort(byPrecedence);
  const first = ordered[0];
  if (first === undefined) throw new Error('pickWinner needs at least one candidate');
  if (rule.kind === 'prefer') {
    const preferred = ordered.find((c) => c.holders.includes(rule.replica));
    const dirWins = first.entry.kind === 'dir';
    if (preferred && !dirWins) return { winner: preferred, keepLosers: false };
    return { winner: first, keepLosers: true };
  }
  return { winner: first, keepLosers: rule.kind === 'keep-both' };
}

/** The total order of pickWinner, first = winner: the same on every host and for any root order. */
export function byPrecedence(a: Candidate, b: Candidate): number {
  const ad = a.entry.kind === 'dir' ? 1 : 0;
  const bd = b.entry.kind === 'dir' ? 1 : 0;
  if (ad !== bd) return bd - ad;
  const am = a.entry.kind === 'file' ? a.entry.mtime : 0;
  const bm = b.entry.kind === 'file' ? b.entry.mtime : 0;
  if (am !== bm) return bm - am;
  const ak = contentKey(a.entry);
  const bk = contentKey(b.entry);
  return ak < bk ? 1 : ak > bk ? -1 : 0;
}

function contentKey(e: Entry): string {
  switch (e.kind) {
    case 'file':
      return `f:${e.hash}:${e.exec ? 1 : 0}`;
    case 'symlink':
      return `l:${e.target}`;
    default:
      return e.kind;
  }
}

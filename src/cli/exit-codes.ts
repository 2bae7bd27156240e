import { FerryError } from '../core/errors.ts';

/** Documented in README "Exit codes"; scripts depend on them: never renumber. */
export const EXIT = {
  ok: 0, // everything in sync
  partial: 1, // finished, but with per-path problems or conflicts
  usage: 2, // bad command line or bad input
  safety: 3, // refused for safety: marker, mass delete, lock, damaged index
  failure: 4, // a link to a root failed, or an internal error
} as const;

export function exitCodeFor(e: unknown): number {
  if (e instanceof FerryError) return EXIT[e.exitClass];
  return EXIT.failure;
}

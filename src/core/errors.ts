/**
 * Failures that stop an operation carry a stable code (README "Exit codes and errors").
 * The exit code class tells scripts what happened without parsing text.
 */
export type ErrorCode =
  | 'USAGE' // bad command line
  | 'BAD_ROOT' // a root that cannot be used (not a directory, unreadable, nested in another)
  | 'MARKER_MISSING' // a replica synced before has lost its .ferry marker (I5)
  | 'MARKER_FOREIGN' // the marker belongs to another replica than the one recorded (I5)
  | 'MASS_DELETE' // the run would delete more than the allowed share of a replica (I5)
  | 'LOCKED' // another ferry holds the root's lock
  | 'INDEX_CORRUPT' // the index cannot be read and was not silently reset
  | 'PROTOCOL' // peer spoke something invalid or an incompatible version
  | 'TRANSPORT' // the link to a root failed (ssh exited, timed out)
  | 'INTERNAL'; // a broken invariant: a bug in ferry

export type ExitClass = 'usage' | 'safety' | 'failure';

const exitClassOf: Record<ErrorCode, ExitClass> = {
  USAGE: 'usage',
  BAD_ROOT: 'usage',
  MARKER_MISSING: 'safety',
  MARKER_FOREIGN: 'safety',
  MASS_DELETE: 'safety',
  LOCKED: 'safety',
  INDEX_CORRUPT: 'safety',
  PROTOCOL: 'failure',
  TRANSPORT: 'failure',
  INTERNAL: 'failure',
};

export class FerryError extends Error {
  readonly code: ErrorCode;
  /** What the user can do about it; printed under the message. */
  readonly hint: string | undefined;
  constructor(code: ErrorCode, message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'FerryError';
    this.code = code;
    this.hint = opts.hint;
  }
  get exitClass(): ExitClass {
    return exitClassOf[this.code];
  }
}

/** A broken invariant. Never caught to continue: it means ferry has a bug. */
export function invariant(cond: unknown, what: string): asserts cond {
  if (!cond) throw new FerryError('INTERNAL', `internal error (a bug in ferry): ${what}`);
}

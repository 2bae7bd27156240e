/**
 * Per-path trouble is data, not an exception: it is shown, counted in the exit code, and never
 * read as a deletion (I6). Codes are stable and documented in README "Problems".
 */
export type ProblemCode =
  | 'unreadable' // permission denied or I/O error while scanning or reading
  | 'special-file' // FIFO, socket or device: reported and skipped
  | 'bad-name' // name not valid UTF-8, too long, or otherwise unsyncable
  | 'changed-during-sync' // target or source changed between scan and apply (I4): skipped
  | 'write-failed' // could not write, rename or delete on a replica
  | 'symlink-escape' // a write would pass through a symlink out of the root (I8)
  | 'not-empty' // a directory to delete still holds unsynced content: kept
  | 'type-clash'; // a path is a directory on one side and must not be replaced by a file here

export interface Problem {
  readonly path: string;
  readonly code: ProblemCode;
  readonly message: string;
  /** Which root reported it (label as the user typed it). */
  readonly root?: string;
}

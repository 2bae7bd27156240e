/**
 * The filesystem as scan and apply need it. Paths here are absolute host paths built by the
 * caller from a root and a checked relative path. Directory listing and stat are synchronous:
 * a stat walk of 100k files is dominated by per-call overhead, and the sync calls are 3x cheaper
 * in Node; everything that moves bytes is asynchronous.
 */
export type FsKind = 'file' | 'dir' | 'symlink' | 'special';

export interface FsStat {
  readonly kind: FsKind;
  readonly size: number;
  readonly mtime: number; // ms with fraction
  readonly ctime: number;
  readonly ino: number;
  readonly dev: number;
  readonly mode: number; // permission bits
}

export interface DirItem {
  readonly name: string;
  /** From the directory entry when the OS gives it; 'unknown' means lstat to find out. */
  readonly kind: FsKind | 'unknown';
  /** The name did not decode as UTF-8; such names cannot be synced faithfully. */
  readonly badName: boolean;
}

/** errno-style failure: code like 'ENOENT', 'EACCES', 'ENOTEMPTY'. */
export class FsError extends Error {
  readonly code: string;
  readonly path: string;
  constructor(code: string, path: string, message: string) {
    super(message);
    this.name = 'FsError';
    this.code = code;
    this.path = path;
  }
}

export interface ReadHandle {
  /**
   * Reads up to length bytes at position; shorter at end of file. The bytes go into a fresh
   * buffer, or into the start of `into` (at least `length` long) when given: use the returned view.
   */
  read(position: number, length: number, into?: Uint8Array): Promise<Uint8Array>;
  stat(): Promise<FsStat>;
  close(): Promise<void>;
}

export interface WriteHandle {
  write(data: Uint8Array): Promise<void>;
  /** Flush file data and metadata to stable storage. */
  sync(): Promise<void>;
  /**
   * Optional: start writing the data written so far to the disk without blocking this thread
   * (a head start for the later sync of a large file, not a durability guarantee by itself).
   */
  flush?(): Promise<void>;
  close(): Promise<void>;
}

export interface FileSystem {
  lstat(path: string): FsStat; // throws FsError
  /** Like lstat, but undefined for a path that does not exist (no exception: absence is common). */
  lstatIfExists(path: string): FsStat | undefined;
  readdir(path: string): DirItem[]; // throws FsError
  readlink(path: string): string;
  openRead(path: string): Promise<ReadHandle>;
  /** Create a new file exclusively (fails if it exists), with `mode` (default 0o600) less the umask. */
  createExclusive(path: string, mode?: number): Promise<WriteHandle>;
  rename(from: string, to: string): Promise<void>;
  /** Hard link; used to keep a replaced file's bytes in history without copying them. */
  link(existing: string, newPath: string): Promise<void>;
  copyFile(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string, opts: { readonly recursive: boolean }): Promise<void>;
  rmdir(path: string): Promise<void>;
  symlink(target: string, path: string): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  utimes(path: string, atimeMs: number, mtimeMs: number): Promise<void>;
  /**
   * Make everything written so far under `dir`'s filesystem durable (syncfs). Batched durability:
   * one call after a batch of temp files, one after their renames, instead of an fsync per file.
   */
  syncFilesystem(dir: string): Promise<void>;
  /** fsync a directory so renames/creates inside it are durable. */
  syncDir(dir: string): Promise<void>;
}

/** SHA-256 as the scan and apply use it; the node adapter wraps node:crypto. */
export interface Hasher {
  update(data: Uint8Array): void;
  /** Lower-case hex digest; the hasher cannot be used afterwards. */
  digest(): string;
}

/**
 * Makes SHA-256 hashers. `once`, where the platform has it, hashes one whole buffer without a
 * hasher object: most files are one buffer, and a 100k-file copy made 200k hasher objects
 * (~0.15 s and a share of its garbage collection).
 */
export interface HasherFactory {
  (): Hasher;
  readonly once?: (data: Uint8Array) => string;
}

/** The digest of one whole buffer: `once` when the factory has it, else a hasher. */
export function digestOf(newHasher: HasherFactory, data: Uint8Array): string {
  if (newHasher.once !== undefined) return newHasher.once(data);
  const h = newHasher();
  h.update(data);
  return h.digest();
}

/**
 * SHA-256 of a byte stream and of consecutive chunks of it, computed off the calling thread (the
 * node adapter: a worker thread), so reading, chunking and writing the bytes overlap with hashing.
 */
export interface StreamHasher {
  /**
   * Hash `block` next. `cuts`: sizes of the chunks that end inside it, in order (a size counts the
   * chunk's bytes in earlier blocks too). The bytes are copied unless `give` says the caller never
   * touches the block again. Resolves once the hasher may take more: a bounded amount waits.
   */
  push(block: Uint8Array, cuts: readonly number[], give: boolean): Promise<void>;
  /** `last`: size of a final chunk still open (0: none). The stream's hash and each chunk's, in order. */
  end(last: number): Promise<{ readonly hash: string; readonly chunks: readonly string[] }>;
  /** The result is not wanted (an error elsewhere); frees what the stream holds. */
  abort(): void;
}

/** `chunks`: whether chunk hashes are wanted (else cuts are ignored). */
export type StreamHasherFactory = (opts: { readonly chunks: boolean }) => StreamHasher;

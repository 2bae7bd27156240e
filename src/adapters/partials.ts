import * as fs from 'node:fs';
import type { PartialInfo } from '../ports/replica.ts';

/**
 * Interrupted large-file transfers, kept so the next run resumes them (README "Safety").
 *
 * A large file (one written through beginWrite/appendWrite) is assembled in
 * `<meta>/partial/<sha256>.<unique>.part`, in order, so whatever ends the run (ferry or the agent
 * killed, the link dropped) the bytes on disk are a prefix of the file whose SHA-256 names them.
 * Nothing under the metadata folder is ever scanned or synced, so a partial is never visible as a
 * file. The next open (we hold the root's lock, so no writer is left) keeps the largest prefix
 * per hash as `<meta>/partial/<sha256>` and offers it to the engine (ScanResult.partials); the
 * engine names it as the first piece of the file (core/path.ts partialSource) and the target
 * verifies the whole file against its SHA-256 before the rename, as for any other piece (I2). A
 * partial whose bytes do not verify is dropped and the file sent whole.
 *
 * Bounds, applied at every open and close: partials not written for PARTIAL_MAX_AGE_MS are removed;
 * then, newest first, at most PARTIAL_MAX_COUNT and PARTIAL_MAX_BYTES in total are kept (the
 * newest one always, whatever its size). A partial is removed once its file is committed.
 */
export const PARTIAL_MAX_AGE_MS = 7 * 24 * 3600 * 1000;
export const PARTIAL_MAX_BYTES = 4 * 1024 ** 3;
export const PARTIAL_MAX_COUNT = 64;

const KEPT = /^([0-9a-f]{64})$/;
const PART = /^([0-9a-f]{64})\.[0-9a-z-]{1,40}\.part$/;

export class Partials {
  private held = new Map<string, number>();
  private counter = 0;

  constructor(
    readonly dir: string,
    private readonly now: () => number,
  ) {}

  /** Where a new transfer of the file with this hash is assembled. */
  tempPath(hash: string): string {
    return `${this.dir}/${hash}.${process.pid}-${++this.counter}.part`;
  }

  /** The kept partial of a file with this hash (it may not exist). */
  source(hash: string): string {
    return `${this.dir}/${hash}`;
  }

  /** Kept partials as listed by the last tidy(). */
  list(): PartialInfo[] {
    return [...this.held].map(([hash, size]) => ({ hash, size }));
  }

  /** Removes the kept partial of this hash (its file was committed, or its bytes did not verify). */
  drop(hash: string): void {
    // Only tidy() creates `<hash>` files, so a hash it did not keep has nothing on disk to remove
    // (checking costs two syscalls per committed file).
    if (!this.held.delete(hash)) return;
    fs.rmSync(this.source(hash), { force: true });
  }

  /**
   * One largest prefix per hash as `<hash>`, everything else removed, then the bounds above.
   * Only call while holding the root's lock and with no transfer of this process in progress.
   */
  tidy(): void {
    fs.mkdirSync(this.dir, { recursive: true });
    const best = new Map<string, { name: string; size: number; mtime: number }>();
    for (const name of fs.readdirSync(this.dir)) {
      const hash = (KEPT.exec(name) ?? PART.exec(name))?.[1];
      const st = hash === undefined ? undefined : fileStat(`${this.dir}/${name}`);
      if (hash === undefined || st === undefined || st.size === 0) {
        fs.rmSync(`${this.dir}/${name}`, { force: true, recursive: true });
        continue;
      }
      const prev = best.get(hash);
      const keepNew = prev === undefined || st.size > prev.size;
      if (prev !== undefined) fs.rmSync(`${this.dir}/${keepNew ? prev.name : name}`, { force: true });
      if (keepNew) best.set(hash, { name, size: st.size, mtime: st.mtimeMs });
    }
    const now = this.now();
    const newestFirst = [...best].sort((a, b) => b[1].mtime - a[1].mtime);
    this.held = new Map();
    let total = 0;
    for (const [hash, p] of newestFirst) {
      const fits =
        this.held.size === 0 || (this.held.size < PARTIAL_MAX_COUNT && total + p.size <= PARTIAL_MAX_BYTES);
      if (now - p.mtime > PARTIAL_MAX_AGE_MS || !fits) {
        fs.rmSync(`${this.dir}/${p.name}`, { force: true });
        continue;
      }
      if (p.name !== hash) fs.renameSync(`${this.dir}/${p.name}`, this.source(hash));
      this.held.set(hash, p.size);
      total += p.size;
    }
  }
}

function fileStat(p: string): fs.Stats | undefined {
  try {
    const st = fs.lstatSync(p);
    return st.isFile() ? st : undefined;
  } catch {
    return undefined;
  }
}

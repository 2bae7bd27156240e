/** The largest read request served from one buffer (the engine's batches are 16 MiB). */
const ARENA_MAX = 32 << 20;
/** Buffers kept to be filled again: the engine has at most two batches in flight per target. */
const KEEP = 2;
const GRAIN = 1 << 20;

/**
 * Memory for LocalReplica.read: one buffer per request, each reply a view of it, handed back by
 * the engine (recycle) once every byte of it is written, to be filled again. A 100k-file copy
 * read ~108 MB through 50 fresh buffers that each lived until a full GC (up to ~70 MB of them at
 * once); two kept buffers serve it. A buffer is only ever reused after it was handed back.
 */
export class ReadArenas {
  readonly #spare: ArrayBuffer[] = [];
  readonly #lent = new WeakSet<ArrayBuffer>();

  /** A buffer of exactly `size` bytes, or undefined when a request is too large for one. */
  take(size: number): Buffer | undefined {
    if (size === 0 || size > ARENA_MAX) return undefined;
    const i = this.#spare.findIndex((b) => b.byteLength >= size);
    const memory = (i >= 0 ? this.#spare.splice(i, 1)[0] : undefined) ?? fresh(size);
    this.#lent.add(memory);
    return Buffer.from(memory, 0, size);
  }

  /** Views of taken buffers that no one reads any more; views of anything else are ignored. */
  recycle(views: readonly Uint8Array[]): void {
    for (const v of views) {
      const memory = v.buffer;
      if (!(memory instanceof ArrayBuffer) || !this.#lent.has(memory)) continue;
      this.#lent.delete(memory);
      if (this.#spare.length < KEEP) this.#spare.push(memory);
    }
  }
}

/** Uninitialised memory (never read before it is filled), rounded up so it fits later requests. */
function fresh(size: number): ArrayBuffer {
  const rounded = Math.min(ARENA_MAX, Math.ceil(size / GRAIN) * GRAIN);
  return Buffer.allocUnsafeSlow(rounded).buffer as ArrayBuffer;
}

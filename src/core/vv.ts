/**
 * Version vectors (Syncthing's model): one counter per replica that changed the path.
 * A scan that finds a local change bumps the local counter; a received version adopts the
 * sender's vector. Vectors are plain frozen-by-convention records; no function mutates its input.
 */
export type VersionVector = Readonly<Record<string, number>>;

export type Order = 'equal' | 'before' | 'after' | 'concurrent';

export const emptyVector: VersionVector = Object.freeze({});

/** a compared to b: 'before' means b has seen everything a has and more. */
export function compare(a: VersionVector, b: VersionVector): Order {
  let aAhead = false;
  let bAhead = false;
  for (const k in a) {
    const av = a[k] ?? 0;
    const bv = b[k] ?? 0;
    if (av > bv) aAhead = true;
    else if (av < bv) bAhead = true;
  }
  for (const k in b) {
    if (k in a) continue;
    if ((b[k] ?? 0) > 0) bAhead = true;
  }
  if (aAhead && bAhead) return 'concurrent';
  if (aAhead) return 'after';
  if (bAhead) return 'before';
  return 'equal';
}

/** Pointwise maximum: the smallest vector that has seen both. */
export function merge(a: VersionVector, b: VersionVector): VersionVector {
  // `a` itself when `b` adds nothing: vectors are shared, never mutated, and on a 100k-file tree a
  // copy per path is ~10 MB.
  let out: Record<string, number> | undefined;
  for (const k in b) {
    const bv = b[k] ?? 0;
    if (bv > ((out ?? a)[k] ?? 0)) {
      out ??= { ...a };
      out[k] = bv;
    }
  }
  return out ?? a;
}

export function bump(v: VersionVector, replicaId: string): VersionVector {
  return { ...v, [replicaId]: (v[replicaId] ?? 0) + 1 };
}

/** True when a has seen everything b has (a is after or equal to b). */
export function dominates(a: VersionVector, b: VersionVector): boolean {
  const o = compare(a, b);
  return o === 'after' || o === 'equal';
}

/** Canonical text form, used to order and to compare vectors in tests and logs. */
export function vectorKey(v: VersionVector): string {
  return Object.keys(v)
    .filter((k) => (v[k] ?? 0) > 0)
    .sort()
    .map((k) => `${k}:${v[k]}`)
    .join(',');
}

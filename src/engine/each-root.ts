import type { ReplicaPort } from '../ports/replica.ts';

/**
 * Starts `f` on every root, roots behind a link first, and returns the promises in root order.
 * A local root does its work (an index load, a scan walk) synchronously in this thread once
 * called, so calling it first would hold back the request to a remote root until that work was
 * done, instead of letting the far host work at the same time.
 */
export function eachRoot<T>(
  replicas: readonly ReplicaPort[],
  f: (r: ReplicaPort, i: number) => Promise<T>,
): Promise<T>[] {
  const out: Promise<T>[] = [];
  const order = [...replicas.keys()].sort((a, b) => rank(replicas[a]) - rank(replicas[b]));
  for (const i of order) {
    const r = replicas[i] as ReplicaPort;
    // A synchronous throw becomes this root's rejection, so the other roots' promises stay handled.
    out[i] = (async () => f(r, i))();
  }
  return out;
}

const rank = (r: ReplicaPort | undefined): number => (r?.wireBytes === undefined ? 1 : 0);

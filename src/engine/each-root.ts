import type { ReplicaPort } from '../ports/replica.ts';

/**
 * Starts `f` on every root, roots behind a link first, and returns the promises in root order.
 * A local root does its work (an index load, a scan walk) synchronously in this thread once
 * called. A remote root's request only reaches its link after a few promise turns (the link's
 * readiness, the call queue), so a local root started in the same turn would hold that request
 * back until its own work was done, leaving the far host idle meanwhile. So when any root is
 * behind a link, the local roots start one event-loop turn later, once every request is written.
 */
export function eachRoot<T>(
  replicas: readonly ReplicaPort[],
  f: (r: ReplicaPort, i: number) => Promise<T>,
): Promise<T>[] {
  const out: Promise<T>[] = [];
  const anyRemote = replicas.some((r) => isRemote(r));
  const later = anyRemote ? new Promise<void>((resolve) => setImmediate(resolve)) : undefined;
  for (const [i, r] of replicas.entries()) {
    if (!isRemote(r)) continue;
    // A synchronous throw becomes this root's rejection, so the other roots' promises stay handled.
    out[i] = (async () => f(r, i))();
  }
  for (const [i, r] of replicas.entries()) {
    if (isRemote(r)) continue;
    out[i] = later === undefined ? (async () => f(r, i))() : later.then(() => f(r, i));
  }
  return out;
}

/** A root behind a link (ssh): only those count their bytes on the wire. */
export const isRemote = (r: ReplicaPort | undefined): boolean => r?.wireBytes !== undefined;

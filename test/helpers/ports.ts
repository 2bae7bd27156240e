import type { ChunkListReply, ChunkListRequest, ReplicaPort } from '../../src/ports/replica.ts';

/**
 * A port that forwards every call to `port`, except those in `over`. wireBytes stays the port's
 * own, so the engine still sees a root behind a link as one.
 */
export function wrapPort(port: ReplicaPort, over: Partial<ReplicaPort>): ReplicaPort {
  const out: ReplicaPort = {
    label: port.label,
    open: (o) => port.open(o),
    readIgnoreFile: () => port.readIgnoreFile(),
    scan: (o) => port.scan(o),
    read: (r) => port.read(r),
    chunkLists: (r) => port.chunkLists(r),
    apply: (ops) => port.apply(ops),
    beginWrite: (op) => port.beginWrite(op),
    appendWrite: (p, pieces) => port.appendWrite(p, pieces),
    finishWrite: (p) => port.finishWrite(p),
    finish: (o) => port.finish(o),
    close: () => port.close(),
    ...over,
  };
  const wire = port.wireBytes?.bind(port);
  return wire ? { ...out, wireBytes: wire } : out;
}

/**
 * The port with its chunkLists requests logged (one array per call) and each reply passed through
 * `edit` (what a lying or colliding peer looks like).
 */
export function spyChunkLists(
  port: ReplicaPort,
  log: ChunkListRequest[][],
  edit: (reply: ChunkListReply, req: ChunkListRequest) => ChunkListReply = (r) => r,
): ReplicaPort {
  return wrapPort(port, {
    chunkLists: async (reqs) => {
      log.push([...reqs]);
      const replies = await port.chunkLists(reqs);
      return replies.map((r, i) => {
        const req = reqs[i];
        return req ? edit(r, req) : r;
      });
    },
  });
}

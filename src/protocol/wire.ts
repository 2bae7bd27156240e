import type { StatStamp } from '../ports/index-store.ts';
import type { ApplyOp, Expect, Piece, ReadRequest, ScanResult, WriteOp } from '../ports/replica.ts';
import type { ClientMessage, PartItems, ServerMessage } from './messages.ts';
import { entryToWire, hashToWire, type WireEntry } from './wire-entry.ts';
import { chunkListReplyToWire, chunkListRequestToWire } from './wire-fine.ts';

/**
 * In-memory messages -> the shapes msgpack carries (protocol version 3): every SHA-256 as 32
 * bytes, chunk lists only in scan results (wire-entry.ts). validate*.ts turn the wire shapes back
 * into the in-memory types, so both sides of the engine see exactly the ReplicaPort types.
 */
export function clientToWire(m: ClientMessage): unknown {
  if (m.type === 'hello') return m;
  switch (m.method) {
    case 'read':
      return { ...m, reqs: m.reqs.map(readToWire) };
    case 'chunkLists':
      return { ...m, reqs: m.reqs.map(chunkListRequestToWire) };
    case 'apply':
      return { ...m, ops: m.ops.map(opToWire) };
    case 'beginWrite':
      return { ...m, op: writeToWire(m.op) };
    case 'appendWrite':
      return { ...m, pieces: m.pieces.map(pieceToWire) };
    default:
      return m;
  }
}

export function serverToWire(m: ServerMessage): unknown {
  if (m.type === 'res' && m.ok && m.method === 'scan') return { ...m, result: scanResultToWire(m.result) };
  if (m.type === 'part' && m.method === 'scan') return { ...m, items: m.items.map(scanItemToWire) };
  if (m.type === 'res' && m.ok && m.method === 'chunkLists')
    return { ...m, result: m.result.map(chunkListReplyToWire) };
  if (m.type === 'part' && m.method === 'chunkLists')
    return { ...m, items: m.items.map(chunkListReplyToWire) };
  return m;
}

export type WireScanResult = Omit<ScanResult, 'entries' | 'partials'> & {
  readonly entries: readonly WireEntry[];
  readonly partials?: readonly { readonly hash: Uint8Array; readonly size: number }[];
};
export interface WireScanItem {
  readonly entry: WireEntry;
  readonly stat: StatStamp | null;
}

export function scanResultToWire(r: ScanResult): WireScanResult {
  // Priors are for in-process replicas only (ports/replica.ts): they never go on the wire.
  const { partials, priors: _inProcessOnly, ...rest } = r;
  const out = { ...rest, entries: r.entries.map((e) => entryToWire(e, true)) };
  return partials === undefined || partials.length === 0
    ? out
    : { ...out, partials: partials.map((x) => ({ hash: hashToWire(x.hash), size: x.size })) };
}

function scanItemToWire(item: PartItems['scan']): WireScanItem {
  return { entry: entryToWire(item.entry, true), stat: item.stat };
}

function readToWire(r: ReadRequest): unknown {
  return r.hash === undefined ? r : { ...r, hash: hashToWire(r.hash) };
}

function pieceToWire(p: Piece): unknown {
  return p.kind === 'local' && p.hash !== undefined ? { ...p, hash: hashToWire(p.hash) } : p;
}

function expectToWire(x: Expect): unknown {
  return x.kind === 'absent' ? x : { ...x, entry: entryToWire(x.entry, false) };
}

function writeToWire(op: WriteOp): unknown {
  return {
    ...op,
    entry: entryToWire(op.entry, op.withChunks === true),
    expect: expectToWire(op.expect),
    pieces: op.pieces.map(pieceToWire),
  };
}

function opToWire(op: ApplyOp): unknown {
  switch (op.op) {
    case 'write':
      return writeToWire(op);
    case 'record':
      return { ...op, entry: entryToWire(op.entry, false) };
    default:
      return { ...op, entry: entryToWire(op.entry, false), expect: expectToWire(op.expect) };
  }
}

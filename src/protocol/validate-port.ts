import { partialHashOf } from '../core/path.ts';
import type {
  ApplyOp,
  ApplyReply,
  Expect,
  FinishOptions,
  OpenInfo,
  OpenOptions,
  PartialInfo,
  Piece,
  ReadReply,
  ReadRequest,
  ScanOptions,
  ScanResult,
  WriteOp,
} from '../ports/replica.ts';
import {
  bad,
  bool,
  bytes,
  count,
  get,
  hash,
  LIMITS,
  map,
  num,
  type Obj,
  obj,
  optional,
  problem,
  record,
  relPath,
  shortId,
  statStamp,
  str,
} from './validate-data.ts';
import { entry, entryOf, listedFile, liveEntry, scanEntry } from './wire-entry.ts';

/** Validators for the ReplicaPort argument and result shapes (see validate-data.ts for the rules). */

export function openOptions(v: unknown, what: string): OpenOptions {
  const o = obj(v, what);
  return {
    create: bool(get(o, 'create'), `${what}.create`),
    readOnly: bool(get(o, 'readOnly'), `${what}.readOnly`),
    ...(get(o, 'durable') === undefined ? {} : { durable: bool(get(o, 'durable'), `${what}.durable`) }),
    ...(get(o, 'singleFile') === undefined
      ? {}
      : { singleFile: bool(get(o, 'singleFile'), `${what}.singleFile`) }),
  };
}

/** A single-file root's name: one path segment, so it can only ever name a file in the root's folder. */
function fileName(v: unknown, what: string): string {
  const name = relPath(v, what);
  if (name.includes('/'))
    bad(what, `expected a file name without '/' (${JSON.stringify(name.slice(0, 200))})`);
  return name;
}

const peerInfo = (v: unknown, what: string): { label: string; lastSync: number } => {
  const o = obj(v, what);
  return {
    label: str(get(o, 'label'), `${what}.label`, LIMITS.label),
    lastSync: num(get(o, 'lastSync'), `${what}.lastSync`),
  };
};

export function openInfo(v: unknown, what: string): OpenInfo {
  const o = obj(v, what);
  const knownGens = generations(o, 'knownGens', what);
  return {
    // Empty when the root has no marker yet (a dry run that may not create one).
    replicaId: get(o, 'replicaId') === '' ? '' : shortId(get(o, 'replicaId'), `${what}.replicaId`),
    exists: bool(get(o, 'exists'), `${what}.exists`),
    fresh: bool(get(o, 'fresh'), `${what}.fresh`),
    lastSync: optional(get(o, 'lastSync'), `${what}.lastSync`, num),
    peers: record(get(o, 'peers'), `${what}.peers`, LIMITS.peers, peerInfo),
    singleFile: bool(get(o, 'singleFile'), `${what}.singleFile`),
    ...(get(o, 'fileName') === undefined
      ? {}
      : { fileName: fileName(get(o, 'fileName'), `${what}.fileName`) }),
    ...settledField(o, what),
    ...(get(o, 'vvKey') === undefined ? {} : { vvKey: shortId(get(o, 'vvKey'), `${what}.vvKey`) }),
    ...(get(o, 'gen') === undefined ? {} : { gen: count(get(o, 'gen'), `${what}.gen`) }),
    ...(knownGens === undefined ? {} : { knownGens }),
  };
}

/** Generations by replica id (engine/generations.ts), optional: an older peer sends none. */
function generations(o: Obj, key: string, what: string): Record<string, number> | undefined {
  const v = get(o, key);
  return v === undefined ? undefined : record(v, `${what}.${key}`, LIMITS.peers, (x, w) => count(x, w));
}

export function scanOptions(v: unknown, what: string): ScanOptions {
  const o = obj(v, what);
  const base = {
    ignore: map(get(o, 'ignore'), `${what}.ignore`, LIMITS.ignoreRules, (x, w) => str(x, w, LIMITS.label)),
    dryRun: bool(get(o, 'dryRun'), `${what}.dryRun`),
  };
  const chunkThreshold = optional(get(o, 'chunkThreshold'), `${what}.chunkThreshold`, count);
  // `priors` is for in-process replicas only (ports/replica.ts): a remote is never asked for it.
  return {
    ...base,
    ...(chunkThreshold === undefined ? {} : { chunkThreshold }),
    ...relativeField(o, what),
    ...(get(o, 'rekey') === undefined ? {} : { rekey: shortId(get(o, 'rekey'), `${what}.rekey`) }),
  };
}

const statOrNull = (v: unknown, what: string) => (v === null ? null : statStamp(v, what));

export function scanResult(v: unknown, what: string): ScanResult {
  const o = obj(v, what);
  const entries = map(get(o, 'entries'), `${what}.entries`, LIMITS.scanEntries, scanEntry);
  const stats = map(get(o, 'stats'), `${what}.stats`, LIMITS.scanEntries, statOrNull);
  if (stats.length !== entries.length)
    bad(`${what}.stats`, `${stats.length} stats for ${entries.length} entries`);
  return {
    entries,
    stats,
    problems: map(get(o, 'problems'), `${what}.problems`, LIMITS.scanEntries, problem),
    unseen: map(get(o, 'unseen'), `${what}.unseen`, LIMITS.scanEntries, relPath),
    hashedBytes: count(get(o, 'hashedBytes'), `${what}.hashedBytes`),
    ...settledField(o, what),
    ...partialsField(o, what),
    ...relativeField(o, what),
  };
}

/** Kept partials of a scan result (optional; an older agent sends none). */
function partialsField(o: Obj, what: string): { partials?: PartialInfo[] } {
  const p = optional(get(o, 'partials'), `${what}.partials`, (x, w) =>
    map(x, w, LIMITS.partials, (y, wi) => {
      const e = obj(y, wi);
      return { hash: hash(get(e, 'hash'), `${wi}.hash`), size: count(get(e, 'size'), `${wi}.size`) };
    }),
  );
  return p === undefined || p.length === 0 ? {} : { partials: p };
}

/** A local piece's source: a tree path, or exactly the shape that names a kept partial. */
function sourcePath(v: unknown, what: string): string {
  return typeof v === 'string' && partialHashOf(v) !== undefined ? v : relPath(v, what);
}

/** The optional settled token of scan results and finish options: a short printable string. */
function settledField(o: Obj, what: string): { settled?: string } {
  const t = token(o, 'settled', what);
  return t === undefined ? {} : { settled: t };
}

/** A scan relative to a settled token says so (ports/replica.ts ScanOptions.relativeTo). */
function relativeField(o: Obj, what: string): { relativeTo?: string } {
  const t = token(o, 'relativeTo', what);
  return t === undefined ? {} : { relativeTo: t };
}

const token = (o: Obj, key: string, what: string): string | undefined =>
  optional(get(o, key), `${what}.${key}`, (x, w) => str(x, w, LIMITS.label));

/** One scan entry with its stat, as carried by `part` messages. */
export function scanItem(v: unknown, what: string) {
  const o = obj(v, what);
  return {
    entry: scanEntry(get(o, 'entry'), `${what}.entry`),
    stat: statOrNull(get(o, 'stat'), `${what}.stat`),
  };
}

export function readRequest(v: unknown, what: string): ReadRequest {
  const o = obj(v, what);
  return {
    path: relPath(get(o, 'path'), `${what}.path`),
    offset: count(get(o, 'offset'), `${what}.offset`),
    length: count(get(o, 'length'), `${what}.length`, LIMITS.piece),
    // Optional (ports/replica.ts): whole-file reads are verified by the receiver instead.
    ...optionalHash(o, what),
  };
}

/** null and absent both mean no hash (msgpack has no undefined). */
function optionalHash(o: Obj, what: string): { hash?: string } {
  const h = optional(get(o, 'hash'), `${what}.hash`, hash);
  return h === undefined ? {} : { hash: h };
}

export function readReply(v: unknown, what: string): ReadReply {
  const o = obj(v, what);
  const ok = bool(get(o, 'ok'), `${what}.ok`);
  return ok
    ? { ok, data: bytes(get(o, 'data'), `${what}.data`, LIMITS.piece) }
    : { ok, problem: problem(get(o, 'problem'), `${what}.problem`) };
}

export function applyReply(v: unknown, what: string): ApplyReply {
  const o = obj(v, what);
  const ok = bool(get(o, 'ok'), `${what}.ok`);
  const path = relPath(get(o, 'path'), `${what}.path`);
  return ok
    ? { ok, path, bytesWritten: count(get(o, 'bytesWritten'), `${what}.bytesWritten`) }
    : { ok, path, problem: problem(get(o, 'problem'), `${what}.problem`) };
}

function expect(v: unknown, what: string): Expect {
  const o = obj(v, what);
  const kind = get(o, 'kind');
  if (kind === 'absent') return { kind };
  if (kind === 'indexed') return { kind, entry: liveEntry(get(o, 'entry'), `${what}.entry`) };
  if (kind !== 'entry') bad(`${what}.kind`, "expected 'absent', 'entry' or 'indexed'");
  return {
    kind,
    stat: statOrNull(get(o, 'stat'), `${what}.stat`),
    entry: liveEntry(get(o, 'entry'), `${what}.entry`),
  };
}

export function piece(v: unknown, what: string): Piece {
  const o = obj(v, what);
  const kind = get(o, 'kind');
  if (kind === 'data') return { kind, data: bytes(get(o, 'data'), `${what}.data`, LIMITS.piece) };
  if (kind !== 'local') bad(`${what}.kind`, "expected 'data' or 'local'");
  return {
    kind,
    path: sourcePath(get(o, 'path'), `${what}.path`),
    offset: count(get(o, 'offset'), `${what}.offset`),
    length: count(get(o, 'length'), `${what}.length`),
    // Optional: a run of chunks found by their hash prefix is checked by the whole file's hash.
    ...optionalHash(o, what),
  };
}

export const pieces = (v: unknown, what: string): Piece[] => map(v, what, LIMITS.batch, piece);

export function writeOp(v: unknown, what: string): WriteOp {
  const o = obj(v, what);
  if (get(o, 'op') !== 'write') bad(`${what}.op`, "expected 'write'");
  const listed = optional(get(o, 'withChunks'), `${what}.withChunks`, bool) === true;
  return {
    op: 'write',
    path: relPath(get(o, 'path'), `${what}.path`),
    entry: listed
      ? listedFile(get(o, 'entry'), `${what}.entry`)
      : entryOf(get(o, 'entry'), `${what}.entry`, ['file']),
    expect: expect(get(o, 'expect'), `${what}.expect`),
    pieces: pieces(get(o, 'pieces'), `${what}.pieces`),
    ...(listed ? { withChunks: true } : {}),
  };
}

export function applyOp(v: unknown, what: string): ApplyOp {
  const o = obj(v, what);
  const op = get(o, 'op');
  if (op === 'write') return writeOp(o, what);
  const path = relPath(get(o, 'path'), `${what}.path`);
  const e = `${what}.entry`;
  const x = () => expect(get(o, 'expect'), `${what}.expect`);
  switch (op) {
    case 'mkdir':
      return { op, path, entry: entryOf(get(o, 'entry'), e, ['dir']), expect: x() };
    case 'symlink':
      return { op, path, entry: entryOf(get(o, 'entry'), e, ['symlink']), expect: x() };
    case 'delete':
      return { op, path, entry: entryOf(get(o, 'entry'), e, ['tombstone']), expect: x() };
    case 'rename':
      return {
        op,
        path,
        to: relPath(get(o, 'to'), `${what}.to`),
        entry: liveEntry(get(o, 'entry'), e),
        expect: x(),
      };
    case 'record':
      return { op, path, entry: entry(get(o, 'entry'), e) };
    default:
      return bad(`${what}.op`, 'unknown operation');
  }
}

export function finishOptions(v: unknown, what: string): FinishOptions {
  const o = obj(v, what);
  const gens = generations(o, 'gens', what);
  return {
    dryRun: bool(get(o, 'dryRun'), `${what}.dryRun`),
    now: num(get(o, 'now'), `${what}.now`),
    peers: record(get(o, 'peers'), `${what}.peers`, LIMITS.peers, (x, w) => str(x, w, LIMITS.label)),
    ...settledField(o, what),
    ...(gens === undefined ? {} : { gens }),
  };
}

export const ignoreFile = (v: unknown, what: string): string | undefined =>
  optional(v, what, (x, w) => str(x, w, LIMITS.ignoreFile));

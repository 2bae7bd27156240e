import type { ErrorCode } from '../core/errors.ts';
import type {
  ClientMessage,
  ConnectionError,
  Hello,
  Method,
  Part,
  PartMethod,
  Request,
  Response,
  Results,
  ServerMessage,
  WireError,
} from './messages.ts';
import { METHODS, PART_METHODS } from './messages.ts';
import { bad, count, get, LIMITS, map, type Obj, obj, optional, relPath, str } from './validate-data.ts';
import {
  applyOp,
  applyReply,
  finishOptions,
  ignoreFile,
  openInfo,
  openOptions,
  pieces,
  readReply,
  readRequest,
  scanItem,
  scanOptions,
  scanResult,
  writeOp,
} from './validate-port.ts';
import { chunkListReply, chunkListRequest } from './wire-fine.ts';

/**
 * Turn a decoded `unknown` into a typed message or throw FerryError('PROTOCOL') saying what was
 * wrong. The returned objects are rebuilt from checked fields only; nothing of the input object
 * graph beyond plain strings, numbers and byte views survives.
 */

const ERROR_CODES: readonly ErrorCode[] = [
  'USAGE',
  'BAD_ROOT',
  'MARKER_MISSING',
  'MARKER_FOREIGN',
  'MASS_DELETE',
  'LOCKED',
  'INDEX_CORRUPT',
  'PROTOCOL',
  'TRANSPORT',
  'INTERNAL',
];

const MAX_ID = 2 ** 32;

export function hello(v: unknown): Hello {
  const o = obj(v, 'hello');
  if (get(o, 'type') !== 'hello') bad('hello', 'first message is not a hello');
  if (get(o, 'protocol') !== 'ferry') bad('hello', 'the peer does not speak the ferry protocol');
  return {
    type: 'hello',
    protocol: 'ferry',
    version: count(get(o, 'version'), 'hello.version'),
    software: optional(get(o, 'software'), 'hello.software', (x, w) => str(x, w, 256)) ?? 'unknown',
  };
}

function wireError(v: unknown, what: string): WireError {
  const o = obj(v, what);
  const code = get(o, 'code');
  if (typeof code !== 'string' || !(ERROR_CODES as readonly string[]).includes(code)) {
    bad(`${what}.code`, 'unknown error code');
  }
  const base = { code: code as ErrorCode, message: str(get(o, 'message'), `${what}.message`) };
  const hint = optional(get(o, 'hint'), `${what}.hint`, str);
  return hint === undefined ? base : { ...base, hint };
}

function method(v: unknown, what: string): Method {
  if (typeof v !== 'string' || !(METHODS as readonly string[]).includes(v)) bad(what, 'unknown method');
  return v as Method;
}

const nil = (v: unknown, what: string): undefined => {
  if (v !== null && v !== undefined) bad(what, 'expected no result');
  return undefined;
};

function request(o: Obj): Request {
  const id = count(get(o, 'id'), 'request.id', MAX_ID);
  const m = method(get(o, 'method'), 'request.method');
  const base = { type: 'req' as const, id };
  switch (m) {
    case 'open':
      return { ...base, method: m, opts: openOptions(get(o, 'opts'), 'open.opts') };
    case 'scan':
      return { ...base, method: m, opts: scanOptions(get(o, 'opts'), 'scan.opts') };
    case 'read':
      return { ...base, method: m, reqs: map(get(o, 'reqs'), 'read.reqs', LIMITS.batch, readRequest) };
    case 'chunkLists':
      return {
        ...base,
        method: m,
        reqs: map(get(o, 'reqs'), 'chunkLists.reqs', LIMITS.batch, chunkListRequest),
      };
    case 'apply':
      return { ...base, method: m, ops: map(get(o, 'ops'), 'apply.ops', LIMITS.batch, applyOp) };
    case 'beginWrite':
      return { ...base, method: m, op: writeOp(get(o, 'op'), 'beginWrite.op') };
    case 'appendWrite':
      return {
        ...base,
        method: m,
        path: relPath(get(o, 'path'), 'appendWrite.path'),
        pieces: pieces(get(o, 'pieces'), 'appendWrite.pieces'),
      };
    case 'finishWrite':
      return { ...base, method: m, path: relPath(get(o, 'path'), 'finishWrite.path') };
    case 'finish':
      return { ...base, method: m, opts: finishOptions(get(o, 'opts'), 'finish.opts') };
    case 'readIgnoreFile':
    case 'close':
      return { ...base, method: m };
  }
}

/** Result validators per method; `what` names the method in messages. */
const results: { [M in Method]: (v: unknown, what: string) => Results[M] } = {
  open: openInfo,
  readIgnoreFile: ignoreFile,
  scan: scanResult,
  read: (v, w) => map(v, w, LIMITS.batch, readReply),
  chunkLists: (v, w) => map(v, w, LIMITS.batch, chunkListReply),
  apply: (v, w) => map(v, w, LIMITS.batch, applyReply),
  beginWrite: nil,
  appendWrite: nil,
  finishWrite: applyReply,
  finish: nil,
  close: nil,
};

const partItems: { [M in PartMethod]: (v: unknown, what: string) => Part['items'] } = {
  scan: (v, w) => map(v, w, LIMITS.scanEntries, scanItem),
  read: (v, w) => map(v, w, LIMITS.batch, readReply),
  chunkLists: (v, w) => map(v, w, LIMITS.batch, chunkListReply),
  apply: (v, w) => map(v, w, LIMITS.batch, applyReply),
};

function response(o: Obj): Response {
  const id = count(get(o, 'id'), 'response.id', MAX_ID);
  const m = method(get(o, 'method'), 'response.method');
  const ok = get(o, 'ok');
  if (ok === false)
    return { type: 'res', id, method: m, ok, error: wireError(get(o, 'error'), `${m} error`) };
  if (ok !== true) bad('response.ok', 'expected a boolean');
  return { type: 'res', id, method: m, ok, result: results[m](get(o, 'result'), `${m} result`) } as Response;
}

function part(o: Obj): Part {
  const id = count(get(o, 'id'), 'part.id', MAX_ID);
  const m = get(o, 'method');
  if (typeof m !== 'string' || !(PART_METHODS as readonly string[]).includes(m)) {
    bad('part.method', 'method does not send parts');
  }
  const pm = m as PartMethod;
  return { type: 'part', id, method: pm, items: partItems[pm](get(o, 'items'), `${pm} part`) } as Part;
}

export function connectionError(o: Obj): ConnectionError {
  return { type: 'error', error: wireError(get(o, 'error'), 'error') };
}

/** Server side: what a client may send. */
export function clientMessage(v: unknown): ClientMessage {
  const o = obj(v, 'message');
  const type = get(o, 'type');
  if (type === 'req') return request(o);
  if (type === 'hello') return hello(o);
  return bad(
    'message',
    `unexpected message type from a client: ${JSON.stringify(String(type).slice(0, 40))}`,
  );
}

/** Client side: what a server may send. */
export function serverMessage(v: unknown): ServerMessage {
  const o = obj(v, 'message');
  switch (get(o, 'type')) {
    case 'res':
      return response(o);
    case 'part':
      return part(o);
    case 'hello':
      return hello(o);
    case 'error':
      return connectionError(o);
    case 'keepalive':
      return { type: 'keepalive' };
    default:
      return bad('message', 'unexpected message type from an agent');
  }
}

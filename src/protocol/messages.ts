import type { Entry } from '../core/entry.ts';
import type { ErrorCode } from '../core/errors.ts';
import type { StatStamp } from '../ports/index-store.ts';
import type {
  ApplyOp,
  ApplyReply,
  ChunkListReply,
  ChunkListRequest,
  FinishOptions,
  OpenInfo,
  OpenOptions,
  Piece,
  ReadReply,
  ReadRequest,
  ScanOptions,
  ScanResult,
  WriteOp,
} from '../ports/replica.ts';

/**
 * Wire messages: one request per ReplicaPort method, each with a connection-unique integer id; a
 * response echoes id and method and carries the result or an error. Large array results (scan
 * entries, read and apply replies) may be preceded by `part` messages with the same id so that no
 * frame outgrows the frame limit; the receiver appends parts in order, then the final response.
 * Both sides send `hello` first. `error` is a connection-level failure sent just before closing.
 * `keepalive` tells a waiting client that a long request is still being worked on.
 */
/**
 * 2: SHA-256 values travel as 32 bytes, chunk lists only in scan results and only as a table of
 * sizes and 8-byte hash prefixes, local pieces may omit their hash (protocol/wire-entry.ts).
 * 3: scans relative to a settled token (ScanOptions/ScanResult.relativeTo, OpenInfo.settled) and
 * the 'indexed' expectation.
 * 3 also: `chunkLists`, fine chunk lists of small files on demand (protocol/wire-fine.ts).
 * 4: single-file roots on any host: OpenOptions.singleFile asks a root to open as a file,
 *    OpenInfo.fileName names it (a v3 agent would ignore the ask and open a folder).
 */
export const PROTOCOL_VERSION = 4;
export const PROTOCOL_NAME = 'ferry';

export const METHODS = [
  'open',
  'readIgnoreFile',
  'scan',
  'read',
  'chunkLists',
  'apply',
  'beginWrite',
  'appendWrite',
  'finishWrite',
  'finish',
  'close',
] as const;
export type Method = (typeof METHODS)[number];

/** Arguments of each method, as carried in a request (`unknown`: no arguments). */
export interface Params {
  open: { readonly opts: OpenOptions };
  readIgnoreFile: unknown;
  scan: { readonly opts: ScanOptions };
  read: { readonly reqs: readonly ReadRequest[] };
  chunkLists: { readonly reqs: readonly ChunkListRequest[] };
  apply: { readonly ops: readonly ApplyOp[] };
  beginWrite: { readonly op: WriteOp };
  appendWrite: { readonly path: string; readonly pieces: readonly Piece[] };
  finishWrite: { readonly path: string };
  finish: { readonly opts: FinishOptions };
  close: unknown;
}

/** Result of each method; `void` results travel as nil. */
export interface Results {
  open: OpenInfo;
  readIgnoreFile: string | undefined;
  scan: ScanResult;
  read: ReadReply[];
  chunkLists: ChunkListReply[];
  apply: ApplyReply[];
  beginWrite: undefined;
  appendWrite: undefined;
  finishWrite: ApplyReply;
  finish: undefined;
  close: undefined;
}

/** Methods whose results may be split over `part` messages, and the item each part carries. */
export interface PartItems {
  scan: { readonly entry: Entry; readonly stat: StatStamp | null };
  read: ReadReply;
  chunkLists: ChunkListReply;
  apply: ApplyReply;
}
export type PartMethod = keyof PartItems;
export const PART_METHODS: readonly PartMethod[] = ['scan', 'read', 'chunkLists', 'apply'];

export interface Hello {
  readonly type: 'hello';
  readonly protocol: typeof PROTOCOL_NAME;
  readonly version: number;
  /** Human-readable software name and version, e.g. 'ferry 0.1.0', for messages only. */
  readonly software: string;
}

export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly hint?: string;
}

export type Request = {
  [M in Method]: { readonly type: 'req'; readonly id: number; readonly method: M } & Params[M];
}[Method];
export type RequestOf<M extends Method> = Extract<Request, { method: M }>;

export type Response = {
  [M in Method]:
    | {
        readonly type: 'res';
        readonly id: number;
        readonly method: M;
        readonly ok: true;
        readonly result: Results[M];
      }
    | {
        readonly type: 'res';
        readonly id: number;
        readonly method: M;
        readonly ok: false;
        readonly error: WireError;
      };
}[Method];

export type Part = {
  [M in PartMethod]: {
    readonly type: 'part';
    readonly id: number;
    readonly method: M;
    readonly items: readonly PartItems[M][];
  };
}[PartMethod];

export interface ConnectionError {
  readonly type: 'error';
  readonly error: WireError;
}

export interface Keepalive {
  readonly type: 'keepalive';
}

/** What a client may send, and what a server may send. */
export type ClientMessage = Hello | Request;
export type ServerMessage = Hello | Response | Part | ConnectionError | Keepalive;
export type Message = ClientMessage | ServerMessage;

import type { ClientMessage, ServerMessage } from '../../src/protocol/messages.ts';

/**
 * One valid message of every kind, in memory: seeds for validator tests and the fuzzer's mutations
 * (they travel through protocol/wire.ts). Each is in the form a peer's validators rebuild: chunk
 * lists only in scan results, and there as 8-byte hash prefixes (16 hex digits).
 */
const H = 'c'.repeat(64);
const P = 'd'.repeat(16);
const file = {
  kind: 'file',
  path: 'dir/f.txt',
  vv: { r1: 3, r2: 1 },
  size: 5,
  mtime: 1.25,
  exec: true,
  hash: H,
} as const;
const big = { ...file, path: 'big', size: 7 } as const;
const chunked = {
  ...big,
  chunks: [
    { size: 3, hash: P },
    { size: 4, hash: '0123456789abcdef' },
  ],
} as const;
const stat = { size: 5, mtime: 2.5, ctime: 3.5, ino: 77 };

export const SAMPLE_CLIENT: readonly ClientMessage[] = [
  { type: 'hello', protocol: 'ferry', version: 2, software: 'ferry 0.1.0' },
  { type: 'req', id: 1, method: 'open', opts: { create: true, readOnly: false } },
  { type: 'req', id: 2, method: 'readIgnoreFile' },
  {
    type: 'req',
    id: 3,
    method: 'scan',
    opts: { ignore: ['*.o', '/build'], dryRun: false, chunkThreshold: 1024, rekey: 'k7' },
  },
  {
    type: 'req',
    id: 4,
    method: 'read',
    reqs: [
      { path: 'a', offset: 0, length: 10, hash: H },
      { path: 'a', offset: 10, length: 5 },
    ],
  },
  {
    type: 'req',
    id: 5,
    method: 'apply',
    ops: [
      {
        op: 'write',
        path: 'dir/f.txt',
        entry: file,
        expect: { kind: 'entry', stat, entry: file },
        pieces: [{ kind: 'data', data: new Uint8Array([1, 2, 3, 4, 5]) }],
      },
      { op: 'mkdir', path: 'dir', entry: { kind: 'dir', path: 'dir', vv: {} }, expect: { kind: 'absent' } },
      {
        op: 'symlink',
        path: 'l',
        entry: { kind: 'symlink', path: 'l', vv: { r1: 1 }, target: '/abs/../x' },
        expect: { kind: 'absent' },
      },
      {
        op: 'delete',
        path: 'gone',
        entry: { kind: 'tombstone', path: 'gone', vv: { r2: 4 } },
        expect: { kind: 'entry', stat: null, entry: { kind: 'dir', path: 'gone', vv: {} } },
      },
      { op: 'rename', path: 'a', to: 'a (conflict)', entry: big, expect: { kind: 'absent' } },
      { op: 'record', path: 'big', entry: big },
    ],
  },
  {
    type: 'req',
    id: 6,
    method: 'beginWrite',
    op: { op: 'write', path: 'big', entry: big, expect: { kind: 'absent' }, pieces: [] },
  },
  {
    type: 'req',
    id: 7,
    method: 'appendWrite',
    path: 'big',
    pieces: [
      { kind: 'local', path: 'dir/f.txt', offset: 0, length: 3, hash: H },
      { kind: 'data', data: new Uint8Array([9]) },
      { kind: 'local', path: 'dir/f.txt', offset: 3, length: 2 },
      { kind: 'local', path: `.ferry/partial/${H}`, offset: 0, length: 6 },
    ],
  },
  { type: 'req', id: 8, method: 'finishWrite', path: 'big' },
  { type: 'req', id: 11, method: 'chunkLists', reqs: [{ path: 'dir/f.txt', hash: H }] },
  {
    type: 'req',
    id: 9,
    method: 'finish',
    opts: { dryRun: false, now: 1700000000000, peers: { r1: 'a', r2: 'host:b' }, gens: { r1: 3, r2: 5 } },
  },
  { type: 'req', id: 10, method: 'close' },
];

export const SAMPLE_SERVER: readonly ServerMessage[] = [
  { type: 'hello', protocol: 'ferry', version: 2, software: 'ferry 0.1.0' },
  { type: 'keepalive' },
  { type: 'error', error: { code: 'PROTOCOL', message: 'bad', hint: 'upgrade' } },
  {
    type: 'res',
    id: 1,
    method: 'open',
    ok: true,
    result: {
      replicaId: 'r1',
      exists: true,
      fresh: true,
      lastSync: 5,
      peers: { r2: { label: 'b', lastSync: 4 } },
      singleFile: false,
      vvKey: 'k9',
      gen: 4,
      knownGens: { r1: 4, r2: 5 },
    },
  },
  { type: 'res', id: 2, method: 'readIgnoreFile', ok: true, result: '*.tmp' },
  {
    type: 'res',
    id: 3,
    method: 'scan',
    ok: true,
    result: {
      entries: [file, chunked],
      stats: [stat, null],
      problems: [{ path: '', code: 'unreadable', message: 'EIO', root: 'a' }],
      unseen: ['dir/x'],
      hashedBytes: 12,
      partials: [{ hash: H, size: 6 }],
    },
  },
  {
    type: 'part',
    id: 3,
    method: 'scan',
    items: [
      { entry: file, stat },
      { entry: chunked, stat: null },
    ],
  },
  {
    type: 'res',
    id: 4,
    method: 'read',
    ok: true,
    result: [
      { ok: true, data: new Uint8Array([7]) },
      { ok: false, problem: { path: 'a', code: 'changed-during-sync', message: 'm' } },
    ],
  },
  {
    type: 'res',
    id: 5,
    method: 'apply',
    ok: true,
    result: [
      { ok: true, path: 'dir/f.txt', bytesWritten: 5 },
      { ok: false, path: 'l', problem: { path: 'l', code: 'symlink-escape', message: 'no' } },
    ],
  },
  { type: 'res', id: 6, method: 'beginWrite', ok: true, result: undefined },
  {
    type: 'res',
    id: 11,
    method: 'chunkLists',
    ok: true,
    result: [
      {
        ok: true,
        chunks: [
          { size: 2, hash: '0123abcd' },
          { size: 3, hash: P.slice(0, 8) },
        ],
      },
      { ok: false, problem: { path: 'dir/f.txt', code: 'changed-during-sync', message: 'other' } },
    ],
  },
  {
    type: 'part',
    id: 11,
    method: 'chunkLists',
    items: [{ ok: true, chunks: [{ size: 5, hash: '0000ffff' }] }],
  },
  { type: 'res', id: 8, method: 'finishWrite', ok: false, error: { code: 'LOCKED', message: 'locked' } },
];

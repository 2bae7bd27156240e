import * as fs from 'node:fs';
import { join } from 'node:path';
import { nodeFileSystem, sha256 } from '../../src/adapters/node-fs.ts';
import type { ApplyEnv } from '../../src/apply/apply-batch.ts';
import { History } from '../../src/apply/history.ts';
import type { FileEntry } from '../../src/core/entry.ts';
import type { FileSystem } from '../../src/ports/filesystem.ts';
import type { StatStamp } from '../../src/ports/index-store.ts';
import type { ApplyOp, WriteOp } from '../../src/ports/replica.ts';
import { sha256 as hashOf } from './tree.ts';

/** Ops and an environment for driving applyBatch directly on a real folder (I4 at the apply level). */

export function stampOf(p: string): StatStamp {
  const st = fs.lstatSync(p);
  return { size: st.size, mtime: st.mtimeMs, ctime: st.ctimeMs, ino: st.ino };
}

export function fileEntry(path: string, content: string, mtime = Date.UTC(2020, 0, 1)): FileEntry {
  return {
    kind: 'file',
    path,
    vv: { scanner: 1 },
    size: Buffer.byteLength(content),
    mtime,
    exec: false,
    hash: hashOf(content),
  };
}

export function makeEnv(root: string, fsys: FileSystem = nodeFileSystem): ApplyEnv {
  const meta = join(root, '.ferry');
  fs.mkdirSync(join(meta, 'tmp'), { recursive: true });
  let n = 0;
  return {
    fs: fsys,
    root,
    tmpDir: join(meta, 'tmp'),
    durable: true,
    history: new History(fsys, join(meta, 'history', 'run')),
    newHasher: sha256,
    umask: 0o022,
    currentRecord: () => undefined,
    tempName: () => `t${++n}`,
  };
}

export function writeOp(path: string, content: string, expect: WriteOp['expect']): WriteOp {
  return {
    op: 'write',
    path,
    entry: fileEntry(path, content),
    expect,
    pieces: [{ kind: 'data', data: Buffer.from(content) }],
  };
}

/** The expectation of a write or delete that the scan saw `content` at `abs` with its current stat. */
export function seenAs(abs: string, path: string, content: string): WriteOp['expect'] {
  return { kind: 'entry', stat: stampOf(abs), entry: fileEntry(path, content) };
}

/** A delete of `path` (at `abs`), planned from a scan that saw `content` there with its current stat. */
export function deleteOp(abs: string, path: string, content: string): ApplyOp {
  return {
    op: 'delete',
    path,
    entry: { kind: 'tombstone', path, vv: { other: 2 } },
    expect: seenAs(abs, path, content),
  };
}

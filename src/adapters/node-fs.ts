import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import type {
  DirItem,
  FileSystem,
  FsKind,
  FsStat,
  HasherFactory,
  ReadHandle,
  WriteHandle,
} from '../ports/filesystem.ts';
import { FsError } from '../ports/filesystem.ts';
import { syncfs } from './syncfs.ts';

/*
 * The node adapter performs its syscalls synchronously behind the promise-shaped port. Measured
 * on 10k small files: awaiting ~12 threadpool round trips per file serialised the run on their
 * latency (4 s idle of 14 s); the same calls made synchronously cost a few microseconds each.
 * Only the durability barrier (syncfs, seconds at worst) runs off the main thread.
 */

function wrap(e: unknown, path: string): FsError {
  const err = e as NodeJS.ErrnoException;
  return new FsError(err.code ?? 'EIO', path, err.message ?? String(e));
}

function kindOf(st: fs.Stats | fs.Dirent): FsKind {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return 'special';
}

function toStat(st: fs.Stats): FsStat {
  return {
    kind: kindOf(st),
    size: st.size,
    mtime: st.mtimeMs,
    ctime: st.ctimeMs,
    ino: st.ino,
    dev: st.dev,
    mode: st.mode & 0o7777,
  };
}

/** Names that did not decode as UTF-8 come back with U+FFFD; confirm against the raw bytes. */
function badNames(dir: string): Set<string> {
  const bad = new Set<string>();
  for (const raw of fs.readdirSync(dir, { encoding: 'buffer' })) {
    const text = raw.toString('utf8');
    if (!Buffer.from(text, 'utf8').equals(raw)) bad.add(text);
  }
  return bad;
}

function sys<T>(path: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw wrap(e, path);
  }
}

async function asyncSys<T>(path: string, f: () => T): Promise<T> {
  return sys(path, f);
}

function readHandle(path: string, fd: number): ReadHandle {
  return {
    async read(position, length, into) {
      const buf = into ?? Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const n = sys(path, () => fs.readSync(fd, buf, got, length - got, position + got));
        if (n === 0) break;
        got += n;
      }
      return got === buf.length ? buf : buf.subarray(0, got);
    },
    stat: () => asyncSys(path, () => toStat(fs.fstatSync(fd))),
    close: () => asyncSys(path, () => fs.closeSync(fd)),
  };
}

function writeHandle(path: string, fd: number): WriteHandle {
  let open = true;
  return {
    async write(data) {
      let off = 0;
      while (off < data.length) off += sys(path, () => fs.writeSync(fd, data, off, data.length - off));
    },
    sync: () => asyncSys(path, () => fs.fsyncSync(fd)),
    // On the libuv pool, unlike every other call here: it waits for the disk, not the CPU.
    flush: () =>
      new Promise<void>((resolve, reject) => {
        fs.fdatasync(fd, (e) => (e ? reject(wrap(e, path)) : resolve()));
      }),
    close: () =>
      asyncSys(path, () => {
        if (open) fs.closeSync(fd);
        open = false;
      }),
  };
}

export const nodeFileSystem: FileSystem = {
  lstat: (path) => sys(path, () => toStat(fs.lstatSync(path))),
  lstatIfExists(path) {
    const st = sys(path, () => fs.lstatSync(path, { throwIfNoEntry: false }));
    return st ? toStat(st) : undefined;
  },
  readdir(path): DirItem[] {
    const items = sys(path, () => fs.readdirSync(path, { withFileTypes: true }));
    const suspicious = items.some((d) => d.name.includes('\uFFFD'));
    const bad = suspicious ? badNames(path) : undefined;
    return items.map((d) => {
      const k = kindOf(d);
      return {
        name: d.name,
        kind: d.isFile() || d.isDirectory() || d.isSymbolicLink() ? k : 'unknown',
        badName: bad?.has(d.name) ?? false,
      };
    });
  },
  readlink: (path) => sys(path, () => fs.readlinkSync(path)),
  openRead: (path) =>
    asyncSys(path, () =>
      readHandle(path, fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW)),
    ),
  createExclusive: (path, mode = 0o600) =>
    asyncSys(path, () => writeHandle(path, fs.openSync(path, 'wx', mode))),
  rename: (from, to) => asyncSys(from, () => fs.renameSync(from, to)),
  link: (existing, newPath) => asyncSys(existing, () => fs.linkSync(existing, newPath)),
  copyFile: (from, to) => asyncSys(from, () => fs.copyFileSync(from, to, fs.constants.COPYFILE_FICLONE)),
  unlink: (path) => asyncSys(path, () => fs.unlinkSync(path)),
  mkdir: (path, opts) => asyncSys(path, () => void fs.mkdirSync(path, { recursive: opts.recursive })),
  rmdir: (path) => asyncSys(path, () => fs.rmdirSync(path)),
  symlink: (target, path) => asyncSys(path, () => fs.symlinkSync(target, path)),
  chmod: (path, mode) => asyncSys(path, () => fs.chmodSync(path, mode)),
  utimes: (path, atimeMs, mtimeMs) =>
    asyncSys(path, () => fs.utimesSync(path, atimeMs / 1000, mtimeMs / 1000)),
  syncFilesystem: async (dir) => {
    try {
      await syncfs(dir);
    } catch (e) {
      throw wrap(e, dir);
    }
  },
  syncDir: (dir) =>
    asyncSys(dir, () => {
      const fd = fs.openSync(dir, 'r');
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }),
};

const newSha256 = () => {
  const h = crypto.createHash('sha256');
  return {
    update: (d: Uint8Array) => void h.update(d),
    digest: () => h.digest('hex'),
  };
};
// crypto.hash arrived in Node 20.12; the agent may run on an older 20.
const oneShot = (crypto as { hash?: typeof crypto.hash }).hash;
export const sha256: HasherFactory =
  typeof oneShot === 'function'
    ? Object.assign(newSha256, { once: (d: Uint8Array) => oneShot('sha256', d, 'hex') })
    : newSha256;

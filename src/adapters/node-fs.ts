import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { promisify } from 'node:util';
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

const run = promisify(execFile);

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

async function guarded<T>(path: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw wrap(e, path);
  }
}

export const nodeFileSystem: FileSystem = {
  lstat(path) {
    try {
      return toStat(fs.lstatSync(path));
    } catch (e) {
      throw wrap(e, path);
    }
  },
  readdir(path): DirItem[] {
    let items: fs.Dirent[];
    try {
      items = fs.readdirSync(path, { withFileTypes: true });
    } catch (e) {
      throw wrap(e, path);
    }
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
  readlink(path) {
    try {
      return fs.readlinkSync(path);
    } catch (e) {
      throw wrap(e, path);
    }
  },
  openRead: (path) =>
    guarded(path, async (): Promise<ReadHandle> => {
      const h = await fsp.open(path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      return {
        async read(position, length) {
          const buf = Buffer.allocUnsafe(length);
          let got = 0;
          while (got < length) {
            const { bytesRead } = await h.read(buf, got, length - got, position + got);
            if (bytesRead === 0) break;
            got += bytesRead;
          }
          return got === length ? buf : buf.subarray(0, got);
        },
        stat: async () => toStat(await h.stat()),
        close: () => h.close(),
      };
    }),
  createExclusive: (path) =>
    guarded(path, async (): Promise<WriteHandle> => {
      const h = await fsp.open(path, 'wx', 0o600);
      return {
        async write(data) {
          let off = 0;
          while (off < data.length) off += (await h.write(data, off, data.length - off)).bytesWritten;
        },
        sync: () => h.sync(),
        close: () => h.close(),
      };
    }),
  rename: (from, to) => guarded(from, () => fsp.rename(from, to)),
  link: (existing, newPath) => guarded(existing, () => fsp.link(existing, newPath)),
  copyFile: (from, to) => guarded(from, () => fsp.copyFile(from, to, fs.constants.COPYFILE_FICLONE)),
  unlink: (path) => guarded(path, () => fsp.unlink(path)),
  mkdir: (path, opts) =>
    guarded(path, async () => void (await fsp.mkdir(path, { recursive: opts.recursive }))),
  rmdir: (path) => guarded(path, () => fsp.rmdir(path)),
  symlink: (target, path) => guarded(path, () => fsp.symlink(target, path)),
  chmod: (path, mode) => guarded(path, () => fsp.chmod(path, mode)),
  utimes: (path, atimeMs, mtimeMs) => guarded(path, () => fsp.utimes(path, atimeMs / 1000, mtimeMs / 1000)),
  syncFilesystem: (dir) => guarded(dir, () => syncfs(dir)),
  syncDir: (dir) =>
    guarded(dir, async () => {
      const h = await fsp.open(dir, 'r');
      try {
        await h.sync();
      } finally {
        await h.close();
      }
    }),
};

let syncfsWorks: boolean | undefined;

/**
 * Node has no syncfs(2); coreutils `sync -f DIR` is that call. Where it is missing we fall back
 * to a whole-system `sync`, which is slower but just as durable.
 */
async function syncfs(dir: string): Promise<void> {
  if (syncfsWorks !== false) {
    try {
      await run('sync', ['-f', dir]);
      syncfsWorks = true;
      return;
    } catch (e) {
      if (syncfsWorks === true) throw e;
      syncfsWorks = false;
    }
  }
  await run('sync', []);
}

export const sha256: HasherFactory = () => {
  const h = createHash('sha256');
  return {
    update: (d) => void h.update(d),
    digest: () => h.digest('hex'),
  };
};

// Floor for a local initial copy: the least work any copy that keeps the rules must do, and
// nothing more. Walk SRC; for every file read it, take its SHA-256 (the content id the issue asks
// for), write it to a temp file in its target folder, set mode and mtime, rename it into place.
// Deliberately left out, so this is a lower bound and not a rival: no fsync (I2), no index, no
// history, no re-stat before the rename (I4), no check of what is already at DST.
//   node bench/floors/copy.mjs SRC DST [--workers N]
// The files are split between N worker threads (default: one per core; the main thread walks and
// makes the folders), so the floor also covers what a parallel ferry could reach here. On the
// bench's 2 cores, one worker and two measured the same within the run-to-run spread.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { isMainThread, Worker, workerData } from 'node:worker_threads';

const sha256 = (b) => createHash('sha256').update(b).digest();

function copyFiles(files) {
  let i = 0;
  for (const [src, dst, mode, mtime] of files) {
    const bytes = fs.readFileSync(src);
    sha256(bytes);
    const tmp = `${dst}.floor-${i++}.tmp`;
    fs.writeFileSync(tmp, bytes, { mode });
    fs.utimesSync(tmp, mtime, mtime);
    fs.renameSync(tmp, dst);
  }
}

function walk(src, dst, out) {
  fs.mkdirSync(dst, { recursive: true });
  for (const d of fs.readdirSync(src, { withFileTypes: true })) {
    const s = join(src, d.name);
    const t = join(dst, d.name);
    if (d.isDirectory()) walk(s, t, out);
    else if (d.isFile()) {
      const st = fs.lstatSync(s);
      out.push([s, t, st.mode & 0o7777, st.mtime]);
    }
  }
  return out;
}

if (!isMainThread) copyFiles(workerData);
else {
  const [src, dst, flag, n] = process.argv.slice(2);
  const workers = flag === '--workers' ? Number(n) : availableParallelism();
  const files = walk(src, dst, []);
  if (workers <= 1) copyFiles(files);
  else {
    const parts = Array.from({ length: workers }, (_, w) => files.filter((_, i) => i % workers === w));
    await Promise.all(
      parts.map(
        (part) =>
          new Promise((resolve, reject) => {
            const w = new Worker(new URL(import.meta.url), { workerData: part });
            w.on('error', reject);
            w.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exit ${code}`))));
          }),
      ),
    );
  }
}

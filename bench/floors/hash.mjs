// Floor for any run that meets a new or changed large file: one SHA-256 pass over its bytes, which
// ferry must take before it can plan (the content id is the file's SHA-256). Reads in 1 MiB pieces
// from the page cache; nothing is written.
//   node bench/floors/hash.mjs FILE
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';

export function hashFile(path) {
  const fd = fs.openSync(path, 'r');
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(1 << 20);
  for (;;) {
    const n = fs.readSync(fd, buf, 0, buf.length, null);
    if (n === 0) break;
    h.update(buf.subarray(0, n));
  }
  fs.closeSync(fd);
  return h.digest('hex');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) hashFile(process.argv[2]);

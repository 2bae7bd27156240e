// Floor for a run that finds nothing (or a few files) changed: a start of Node and one lstat of every
// path in every root, which is how any tool without a resident watcher learns what changed. No index
// is read or written and nothing is hashed, so this is a lower bound.
//   node bench/floors/stat.mjs ROOT [ROOT...]
import * as fs from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function walk(dir) {
  for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    fs.lstatSync(p);
    if (d.isDirectory()) walk(p);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) for (const root of process.argv.slice(2)) walk(root);

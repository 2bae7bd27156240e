// Runs every test file with node's own test runner (tsx compiles TypeScript on the fly).
// Usage: node scripts/test.mjs [unit|integration|<path substring>...]
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function list(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...list(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out.sort();
}

const filters = process.argv.slice(2);
const files = list('test').filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(2);
}
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...files],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);

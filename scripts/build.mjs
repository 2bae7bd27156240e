// Builds dist/ferry.mjs: one self-contained ESM file that is both the CLI and the remote agent
// (ferry uploads this same file to hosts that have node but no ferry). Pure JS only: no native
// addons may be bundled, because the file must run on any Node >= 20 it is copied to.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/ferry.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: false,
  legalComments: 'none',
  define: { FERRY_VERSION: JSON.stringify(pkg.version) },
  // msgpackr-extract is an optional native accelerator; the bundle must stay pure JS.
  external: ['msgpackr-extract'],
  banner: {
    js: "import { createRequire as __ferryCreateRequire } from 'node:module'; const require = __ferryCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
const bundle = readFileSync('dist/ferry.mjs');
writeFileSync('dist/ferry.mjs.sha256', `${createHash('sha256').update(bundle).digest('hex')}\n`);

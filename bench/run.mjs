#!/usr/bin/env node
// ferry vs rsync vs unison, local-to-local, same data, one run. `npm run bench` builds ferry and runs this.
//   node bench/run.mjs [--quick] [--only t10k,t100k,big] [--tools rsync,unison,ferry] [--no-write]
//                      [--keep] [--timeout SECONDS]
// Prints a table of wall times, ratios and peak RSS; writes bench/RESULTS.md unless --no-write.
// Needs rsync and unison on PATH (apt: rsync unison) and, for the RSS columns, GNU time (apt: time).
import * as fs from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { machineInfo, problems, renderResults, renderTable } from './report.mjs';
import { runScenario, scenarioSpecs } from './scenarios.mjs';
import { FERRY, haveTime, missingTools, nodeStartup, REPO, TOOLS } from './tools.mjs';

const USAGE =
  'usage: node bench/run.mjs [--quick] [--only t10k,t100k,big] [--tools rsync,unison,ferry] [--no-write] [--keep] [--timeout SECONDS]';

let opts;
try {
  opts = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      tools: { type: 'string', default: 'rsync,unison,ferry' },
      'no-write': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '900' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values;
} catch (e) {
  console.error(`bench: ${e.message}\n${USAGE}`);
  process.exit(2);
}
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}

const tools = opts.tools.split(',').map((s) => s.trim());
const unknownTool = tools.find((t) => !TOOLS[t]);
const all = scenarioSpecs(opts.quick);
const only = opts.only ? opts.only.split(',').map((s) => s.trim()) : all.map((s) => s.id);
const unknownSc = only.find((id) => !all.some((s) => s.id === id));
if (unknownTool || unknownSc) {
  console.error(
    `bench: unknown ${unknownTool ? `tool "${unknownTool}"` : `scenario "${unknownSc}"`}\n${USAGE}`,
  );
  process.exit(2);
}
const missing = missingTools(tools);
if (missing.length) {
  for (const m of missing)
    console.error(
      `bench: ${m.name} is not installed or not on PATH. Install it: sudo apt-get install ${m.apt}`,
    );
  console.error('bench: (or leave it out with --tools, e.g. --tools rsync,ferry; ratios need rsync)');
  process.exit(2);
}
if (!haveTime)
  console.error('bench: GNU time not found at /usr/bin/time (apt-get install time): RSS columns omitted.');
if (tools.includes('ferry') && !fs.existsSync(FERRY)) {
  console.error(`bench: ${FERRY} not found (npm run build): ferry rows will show as failed.`);
}

const workDir = join(REPO, 'bench', 'work');
fs.mkdirSync(workDir, { recursive: true });
const t0 = Date.now();
const log = (msg) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${msg}`);
const startup = await nodeStartup(join(workDir, 'node-startup'));
log(`node -e 0: ${(startup.ms / 1000).toFixed(3)} s (median of 5)`);

const scenarios = [];
for (const sc of all.filter((s) => only.includes(s.id))) {
  scenarios.push(
    await runScenario(sc, { tools, workDir, log, timeoutMs: Number(opts.timeout) * 1000, keep: opts.keep }),
  );
}
const rows = scenarios.flatMap((s) => s.rows);
const initialRuns = all.map((s) => `${s.id} ${s.steps[0].runs}`).join(', ');
const notes = [
  `Timed runs per step are in the \`runs\` column (median reported). Initial copies: ${initialRuns}` +
    (opts.quick
      ? ' (quick smoke run: small trees).'
      : ' (1 run for the 512 MiB case: each run needs 3 GB of fresh copies; whole bench ~7 minutes).'),
  `Total bench time: ${((Date.now() - t0) / 60000).toFixed(1)} min.`,
];

console.log(`\nnode -e 0 start-up: ${(startup.ms / 1000).toFixed(3)} s (warm cache, all runs)\n`);
console.log(renderTable(rows, tools, haveTime));
const bad = problems(rows);
if (bad.length) console.log(`\n${bad.join('\n')}`);
if (!opts['no-write']) {
  const machine = machineInfo(tools);
  const mode = opts.quick ? 'quick' : 'full';
  const md = renderResults({ machine, mode, scenarios, rows, tools, haveRss: haveTime, startup, notes });
  fs.writeFileSync(join(REPO, 'bench', 'RESULTS.md'), md);
  console.log('\nwrote bench/RESULTS.md');
}
process.exitCode = bad.length ? 1 : 0;

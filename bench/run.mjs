#!/usr/bin/env node
// ferry vs rsync vs unison, same data, one run: local-to-local and over a loopback sshd.
// `npm run bench` builds ferry and runs this.
//   node bench/run.mjs [--quick] [--only t10k,t100k,big,ssh-t10k,ssh-big] [--tools rsync,unison,ferry,floor]
//                      [--no-write | --out FILE] [--keep] [--timeout SECONDS]
// Prints tables of wall times, ratios, peak RSS (and wire bytes over ssh); writes bench/RESULTS.md unless
// --no-write. Needs rsync and unison on PATH (apt: rsync unison), for the RSS columns GNU time (apt: time),
// for the ssh scenarios openssh-server and openssh-client (without them those are reported as skipped).
import * as fs from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { machineInfo, problems, renderResults, renderTable, skippedNotes, sshDetails } from './report.mjs';
import { runScenario, scenarioSpecs } from './scenarios.mjs';
import { startSsh } from './ssh.mjs';
import {
  FERRY_BUILD,
  fileHash,
  haveTime,
  missingTools,
  nodeStartup,
  REPO,
  snapshotFerry,
  TOOLS,
} from './tools.mjs';

const USAGE =
  'usage: node bench/run.mjs [--quick] [--only t10k,t100k,big,ssh-t10k,ssh-big] [--tools rsync,unison,ferry,floor] [--no-write | --out FILE] [--keep] [--timeout SECONDS]';

let opts;
try {
  opts = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      tools: { type: 'string', default: 'rsync,unison,ferry,floor' },
      'no-write': { type: 'boolean', default: false },
      out: { type: 'string' },
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
if (tools.includes('ferry') && !fs.existsSync(FERRY_BUILD)) {
  console.error(`bench: ${FERRY_BUILD} not found (npm run build): ferry rows will show as failed.`);
}

const workDir = join(REPO, 'bench', 'work');
fs.mkdirSync(workDir, { recursive: true });
const ferryHash = snapshotFerry(workDir);
const t0 = Date.now();
const log = (msg) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${msg}`);
const startup = await nodeStartup(join(workDir, 'node-startup'));
log(`node -e 0: ${(startup.ms / 1000).toFixed(3)} s (median of 5)`);

const selected = all.filter((s) => only.includes(s.id));
// Taken before the first run: the commit (and whether the tree was dirty) is that of the build under
// test, not of whatever the working tree holds by the time a 20-minute run ends.
const machine = machineInfo(
  tools,
  selected.some((s) => s.ssh),
);
// The sshd lives for the whole run; if it cannot start, ssh scenarios come back skipped with the reason.
const ssh = selected.some((s) => s.ssh) ? await startSsh(workDir, log) : null;
if (ssh && !ssh.ok) log(`ssh scenarios skipped: ${ssh.reason}`);
const scenarios = [];
try {
  for (const sc of selected) {
    scenarios.push(
      await runScenario(sc, {
        tools,
        workDir,
        log,
        timeoutMs: Number(opts.timeout) * 1000,
        keep: opts.keep,
        ssh,
      }),
    );
  }
} finally {
  if (ssh?.ok) await ssh.stop();
  if (ssh?.ok && !opts.keep) fs.rmSync(ssh.dir, { recursive: true, force: true });
}
const rows = scenarios.flatMap((s) => s.rows);
const initialRuns = selected
  .map((s) => `${s.id} ${s.steps.find((st) => st.step === 'initial').runs}`)
  .join(', ');
const notes = [
  `Timed runs per step are in the \`runs\` column (median reported). Initial copies: ${initialRuns}` +
    (opts.quick
      ? ' (quick smoke run: small trees).'
      : ' (1 run for the 512 MiB cases: each run needs 3 GB of fresh copies).'),
  `Total bench time: ${((Date.now() - t0) / 60000).toFixed(1)} min.`,
];
if (ferryHash) {
  notes.push(
    `ferry build under test: sha256 ${ferryHash.slice(0, 12)} (the same file is the agent uploaded over ssh).`,
  );
  if (fileHash(FERRY_BUILD) !== ferryHash) {
    const msg =
      'dist/ferry.mjs was rebuilt during the run; every ferry run used the copy taken at the start.';
    console.error(`bench: ${msg}`);
    notes.push(msg);
  }
}

console.log(`\nnode -e 0 start-up: ${(startup.ms / 1000).toFixed(3)} s (warm cache, all runs)\n`);
const localRows = rows.filter((r) => !r.ssh);
const sshRows = rows.filter((r) => r.ssh);
if (localRows.length) console.log(renderTable(localRows, tools, haveTime));
if (sshRows.length) {
  console.log(
    `${localRows.length ? '\n' : ''}over ssh (loopback sshd):\n${renderTable(sshRows, tools, haveTime)}`,
  );
  const extra = [...skippedNotes(scenarios), ...sshDetails(sshRows, tools)];
  if (extra.length) console.log(`\n${extra.join('\n')}`);
}
// Skipped ssh scenarios (no sshd here) are not failures: only a tool's failure or mismatch is.
const bad = problems(rows);
if (bad.length) console.log(`\n${bad.join('\n')}`);
if (!opts['no-write']) {
  const mode = opts.quick ? 'quick' : 'full';
  const md = renderResults({ machine, mode, scenarios, rows, tools, haveRss: haveTime, startup, notes });
  const out = opts.out ?? join(REPO, 'bench', 'RESULTS.md');
  fs.writeFileSync(out, md);
  console.log(`\nwrote ${out}`);
}
process.exitCode = bad.length ? 1 : 0;

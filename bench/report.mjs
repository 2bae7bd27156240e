// Reporting: machine description, the results table (console and bench/RESULTS.md), target marks.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { describeData } from './scenarios.mjs';
import { ferryExtraArgs, REPO, TOOLS } from './tools.mjs';

const sh = (cmd, args) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: REPO });
  return r.status === 0 ? r.stdout.trim() : null;
};

export function machineInfo(tools) {
  const cpuinfo = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const mem = (sh('free', ['-m']) ?? '').split('\n').find((l) => l.startsWith('Mem:'));
  const [total, , , , , avail] = mem ? mem.split(/\s+/).slice(1) : [];
  const commit = sh('git', ['rev-parse', '--short', 'HEAD']);
  const dirty = sh('git', ['status', '--porcelain', '--', 'src', 'scripts', 'package.json'])
    ? ' (+ uncommitted changes)'
    : '';
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cpu: `${model} (nproc ${sh('nproc', []) ?? os.availableParallelism()})`,
    memory: total
      ? `${total} MiB total, ${avail} MiB available (free -m)`
      : `${Math.round(os.totalmem() / 2 ** 20)} MiB`,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    versions: Object.fromEntries(tools.map((t) => [t, TOOLS[t].version() ?? 'not available'])),
    commit: commit ? `${commit}${dirty}` : 'unknown',
  };
}

const secs = (ms) => (ms == null ? '—' : `${(ms / 1000).toFixed(ms < 10_000 ? 3 : 2)} s`);
const mb = (kb) => (kb == null ? '—' : `${Math.round((kb * 1024) / 1e6)} MB`);

function cellText(c) {
  if (c.status === 'failed') return `failed (exit ${c.code})`;
  if (c.status === 'skipped') return 'skipped';
  return c.status === 'mismatch' ? `${secs(c.ms)} MISMATCH` : secs(c.ms);
}

function ratio(f, o) {
  if (!f || !o || f.status !== 'ok' || o.status !== 'ok' || !o.ms) return null;
  return f.ms / o.ms;
}

/** "MET" / "missed (...)" / "" for a row, against the row's target. */
function targetText(row) {
  const t = row.target;
  const f = row.cells.ferry;
  if (!t || !f) return '';
  const goal = [
    t.maxRatio && `<=${t.maxRatio.toFixed(1)}x rsync`,
    t.maxRssMB && `RSS<${t.maxRssMB} MB`,
  ].filter(Boolean);
  if (f.status !== 'ok') return `${goal.join(', ')}: missed (ferry ${f.status})`;
  const why = [];
  if (t.maxRatio) {
    const r = ratio(f, row.cells.rsync);
    if (r == null) return `${goal.join(', ')}: n/a (no rsync time)`;
    if (r > t.maxRatio) why.push(`${r.toFixed(2)}x rsync`);
  }
  if (t.maxRssMB && f.rssKB != null && (f.rssKB * 1024) / 1e6 >= t.maxRssMB) why.push(`RSS ${mb(f.rssKB)}`);
  return `${goal.join(', ')}: ${why.length ? `missed (${why.join(', ')})` : 'MET'}`;
}

/** Markdown table, padded so it also reads well on a terminal. */
export function renderTable(rows, tools, haveRss) {
  const others = ['rsync', 'unison'].filter((t) => tools.includes(t));
  const hasFerry = tools.includes('ferry');
  const head = ['scenario', 'step', 'runs', ...tools];
  if (hasFerry) head.push(...others.map((o) => `ferry/${o}`));
  if (haveRss) head.push(...tools.map((t) => `RSS ${t}`));
  if (hasFerry) head.push('target');
  const body = rows.map((row) => {
    const line = [row.scenario, row.step, String(row.runs), ...tools.map((t) => cellText(row.cells[t]))];
    if (hasFerry) {
      line.push(
        ...others
          .map((o) => ratio(row.cells.ferry, row.cells[o]))
          .map((r) => (r == null ? '—' : `${r.toFixed(2)}x`)),
      );
    }
    if (haveRss) line.push(...tools.map((t) => mb(row.cells[t].rssKB)));
    if (hasFerry) line.push(targetText(row));
    return line;
  });
  const w = head.map((h, i) => Math.max(h.length, ...body.map((l) => l[i].length)));
  const fmt = (l) => `| ${l.map((c, i) => c.padEnd(w[i])).join(' | ')} |`;
  return [fmt(head), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...body.map(fmt)].join('\n');
}

/** Lines describing failed/mismatched cells, with the tool's stderr tail. */
export function problems(rows) {
  const out = [];
  for (const row of rows) {
    for (const [t, c] of Object.entries(row.cells)) {
      if (c.status === 'failed' || c.status === 'mismatch') {
        const d = (c.detail ?? '').replace(/\s+/g, ' ').slice(0, 400);
        out.push(`- ${row.scenario} ${row.step}, ${t}: ${cellText(c)}${d ? `: ${d}` : ''}`);
      }
    }
  }
  return out;
}

export const LEGEND = [
  '- **rsync / unison / ferry**: wall-clock time of the whole process (spawn to exit, `process.hrtime`),',
  '  median over `runs`. `failed (exit N)`: the tool exited non-zero (or `timeout`); `MISMATCH`: the tool',
  '  exited 0 but the destination differs from the source (paths + SHA-256 of bytes, `.ferry/` excluded);',
  '  ferry is checked after every run, rsync and unison once at the end of each scenario.',
  '- **ferry/rsync, ferry/unison**: ferry time divided by the other tool time (below 1.00x = ferry faster).',
  '- **RSS tool**: peak resident memory (largest of the runs) from `/usr/bin/time -f %M`: the largest',
  '  single process of the tool (for local rsync, its biggest of sender/receiver/generator).',
  '- **target**: ferry targets: initial copy and 1% edit <= 1.0x rsync; no-op on t100k <= 1.0x rsync;',
  '  peak RSS on t100k < 300 MB. `MET` or `missed (why)`.',
  '- **steps**: `initial` = copy into an absent destination (fresh copies and fresh unison archives each',
  '  run); `no-op` = re-run with nothing changed; `1% edit` = 1% of files (seeded choice) get 32 bytes',
  '  overwritten in place and 64 bytes appended, then re-run (each run a new 1%); `insert 100 B` = 100',
  '  bytes inserted at offset 1000 of the big file, shifting the rest, then re-run (each run a new insert).',
];

export function renderResults({ machine, mode, scenarios, rows, tools, haveRss, startup, notes }) {
  const v = machine.versions;
  const lines = [
    '# ferry bench results',
    '',
    `Generated by \`npm run bench${mode === 'quick' ? ' -- --quick' : ''}\` (bench/run.mjs) on ${machine.date}; mode: **${mode}**.`,
    '',
    '## Machine and versions',
    '',
    `- CPU: ${machine.cpu}`,
    `- Memory: ${machine.memory}`,
    `- Kernel: ${machine.kernel}`,
    `- Node ${machine.node}; ${tools.map((t) => `${t}: ${v[t]}`).join('; ')}`,
    `- ferry command: \`ferry sync -q ${ferryExtraArgs.length ? `${ferryExtraArgs.join(' ')} ` : ''}SRC DST\`${ferryExtraArgs.includes('--no-fsync') ? ' (durability syncs off, as rsync never syncs)' : ' (default: durable, two syncfs per batch; rsync does not sync by default)'}`,
    `- ferry commit: ${machine.commit}`,
    '',
    '## Method',
    '',
    '- Local-to-local on one disk; every tool gets its own identical `cp -a` copy of the source and its own',
    '  destination. Runs of different tools are interleaved. **All runs are warm-cache** (the page cache is',
    '  not dropped: the data was just written or copied).',
    '- Commands: `rsync -a --delete SRC/ DST/`; `unison SRC DST -batch -auto -times -perms 0 -ignore',
    "  'Name .ferry'` with `UNISON=bench/work/unison-state/<scenario>-<run>` (fresh per initial run); `node dist/ferry.mjs sync -q SRC DST`.",
    `- \`node -e 0\` start-up: **${secs(startup.ms)}**${startup.rssKB ? ` (${mb(startup.rssKB)} RSS)` : ''}, median of 5 — part of every ferry time.`,
    ...scenarios.map((s) => `- ${s.id}: ${describeData(s.info)} (seeded, incompressible).`),
    ...notes.map((n) => `- ${n}`),
    '',
    '## Results',
    '',
    renderTable(rows, tools, haveRss),
    '',
    '## Columns',
    '',
    ...LEGEND,
  ];
  lines.push('', '## Individual runs (seconds, in run order; x = failed)', '');
  for (const row of rows) {
    const per = tools.map(
      (t) =>
        `${t} ${(row.cells[t].runsMs ?? []).map((ms) => (ms == null ? 'x' : (ms / 1000).toFixed(3))).join(' ') || '—'}`,
    );
    lines.push(`- ${row.scenario} ${row.step}: ${per.join('; ')}`);
  }
  const p = problems(rows);
  if (p.length) lines.push('', '## Failures and mismatches', '', ...p);
  return `${lines.join('\n')}\n`;
}

// Reporting: machine description, the results table (console and bench/RESULTS.md), target marks.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { bytesText, describeData, wireText } from './scenarios.mjs';
import { ferryExtraArgs, isFloor, REPO, TOOLS } from './tools.mjs';

const sh = (cmd, args) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: REPO });
  return r.status === 0 ? r.stdout.trim() : null;
};

export function machineInfo(tools, withSsh = false) {
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
    ssh: withSsh ? sshVersion() : null,
    commit: commit ? `${commit}${dirty}` : 'unknown',
  };
}

function sshVersion() {
  const r = spawnSync('ssh', ['-V'], { encoding: 'utf8' });
  return r.status === 0 ? `${r.stderr}${r.stdout}`.trim().split('\n')[0] : 'not available';
}

const secs = (ms) => (ms == null ? '—' : `${(ms / 1000).toFixed(ms < 10_000 ? 3 : 2)} s`);
const mb = (kb) => (kb == null ? '—' : `${Math.round((kb * 1024) / 1e6)} MB`);

function cellText(c) {
  if (c.status === 'failed') return `failed (exit ${c.code})`;
  if (c.status === 'skipped') return 'skipped';
  if (c.status === 'none') return '—';
  return c.status === 'mismatch' ? `${secs(c.ms)} MISMATCH` : secs(c.ms);
}

function ratio(f, o) {
  if (!f || !o || f.status !== 'ok' || o.status !== 'ok' || !o.ms) return null;
  return f.ms / o.ms;
}

const wireTotal = (c) => (c?.status === 'ok' && c.wire ? c.wire.sent + c.wire.received : null);

function wireRatio(f, o) {
  const a = wireTotal(f);
  const b = wireTotal(o);
  return a == null || !b ? null : a / b;
}

/** MB/s of a copy of `bytes` in `ms`. */
const rate = (bytes, ms) => `${(bytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s`;

/** "MET" / "missed (...)" / "" for a row, against the row's target; a reference row shows its rate. */
function targetText(row) {
  if (row.ref && !row.target) {
    const r = row.ref;
    if (r.status === 'ok') return `reference: ${secs(r.ms)} = ${rate(r.bytes, r.ms)}`;
    return r.status === 'failed' ? `reference failed (exit ${r.code})` : 'not run';
  }
  const t = row.target;
  const f = row.cells.ferry;
  if (!t || !f) return '';
  const goal = [
    t.maxRatio && `<=${t.maxRatio.toFixed(1)}x rsync`,
    t.maxRssMB && `RSS<${t.maxRssMB} MB`,
    t.minRawPct && `>=${t.minRawPct}% of raw cat throughput`,
    t.maxWireRatio && `wire bytes <=${t.maxWireRatio.toFixed(1)}x rsync`,
  ]
    .filter(Boolean)
    .join(', ');
  if (row.skipped) return `${goal}: not run`;
  if (f.status !== 'ok') return `${goal}: missed (ferry ${f.status})`;
  const why = [];
  const got = [];
  // What the floor says of the goal: `floor 1.40x rsync: below floor` when even the floor misses it.
  const reach = [];
  const floor = row.cells.floor?.status === 'ok' ? row.cells.floor : null;
  if (t.maxRatio) {
    const r = ratio(f, row.cells.rsync);
    if (r == null) return `${goal}: n/a (no rsync time)`;
    if (r > t.maxRatio) why.push(`${r.toFixed(2)}x rsync`);
    const fr = ratio(floor, row.cells.rsync);
    if (fr != null)
      reach.push(`floor ${fr.toFixed(2)}x rsync${fr > t.maxRatio ? ': target below floor' : ''}`);
  }
  if (t.maxRssMB && f.rssKB != null && (f.rssKB * 1024) / 1e6 >= t.maxRssMB) why.push(`RSS ${mb(f.rssKB)}`);
  if (t.minRawPct) {
    if (row.ref?.status !== 'ok') return `${goal}: n/a (no raw cat time)`;
    const pct = (row.ref.ms / f.ms) * 100;
    (pct < t.minRawPct ? why : got).push(`${pct.toFixed(0)}%, ${rate(row.ref.bytes, f.ms)}`);
    if (floor) {
      const fp = (row.ref.ms / floor.ms) * 100;
      reach.push(`floor ${fp.toFixed(0)}%${fp < t.minRawPct ? ': target below floor' : ''}`);
    }
  }
  if (t.maxWireRatio) {
    const r = wireRatio(f, row.cells.rsync);
    if (r == null) return `${goal}: n/a (no rsync wire bytes)`;
    (r > t.maxWireRatio ? why : got).push(`${r.toFixed(2)}x rsync bytes`);
  }
  if (why.length) return `${goal}: missed (${[...why, ...reach].join('; ')})`;
  return `${goal}: MET${got.length ? ` (${got.join(', ')})` : ''}`;
}

/**
 * Markdown table, padded so it also reads well on a terminal. Rows of ssh scenarios add wire-bytes
 * columns (both directions summed, from the untimed counted run).
 */
export function renderTable(rows, tools, haveRss) {
  const others = ['rsync', 'unison'].filter((t) => tools.includes(t));
  const hasFerry = tools.includes('ferry');
  const floorVsRsync = tools.some(isFloor) && tools.includes('rsync');
  const measured = tools.filter((t) => !isFloor(t));
  const wire = rows.some((r) => r.ssh);
  const head = ['scenario', 'step', 'runs', ...tools];
  if (hasFerry) head.push(...others.map((o) => `ferry/${o}`));
  if (floorVsRsync) head.push('floor/rsync');
  if (haveRss) head.push(...measured.map((t) => `RSS ${t}`));
  if (wire) head.push(...measured.map((t) => `wire ${t}`));
  if (wire && hasFerry && tools.includes('rsync')) head.push('wire ferry/rsync');
  if (hasFerry || wire) head.push('target');
  const body = rows.map((row) => {
    const line = [row.scenario, row.step, String(row.runs)];
    if (row.ref && !row.target) {
      // reference row: no tool ran; its time and rate stand in the target column
      while (line.length < head.length - 1) line.push('');
      line.push(targetText(row));
      return line;
    }
    line.push(...tools.map((t) => cellText(row.cells[t])));
    if (hasFerry) {
      line.push(
        ...others
          .map((o) => ratio(row.cells.ferry, row.cells[o]))
          .map((r) => (r == null ? '—' : `${r.toFixed(2)}x`)),
      );
    }
    if (floorVsRsync) {
      const r = ratio(row.cells.floor, row.cells.rsync);
      line.push(r == null ? '—' : `${r.toFixed(2)}x`);
    }
    if (haveRss) line.push(...measured.map((t) => mb(row.cells[t].rssKB)));
    if (wire) line.push(...measured.map((t) => bytesText(wireTotal(row.cells[t]))));
    if (wire && hasFerry && tools.includes('rsync')) {
      const r = wireRatio(row.cells.ferry, row.cells.rsync);
      line.push(r == null ? '—' : `${r.toFixed(2)}x`);
    }
    if (hasFerry || wire) line.push(targetText(row));
    return line;
  });
  const w = head.map((h, i) => Math.max(h.length, ...body.map((l) => l[i].length)));
  const fmt = (l) => `| ${l.map((c, i) => c.padEnd(w[i])).join(' | ')} |`;
  return [fmt(head), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...body.map(fmt)].join('\n');
}

/** Lines naming the ssh scenarios that could not run here, and why. */
export function skippedNotes(scenarios) {
  return scenarios.filter((s) => s.skipped).map((s) => `- ${s.id}: skipped: ${s.skipped}`);
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
  '- **floor**: not a sync tool but the least work a straightforward tool written in Node does for the',
  '  step, timed in the same rotation (bench/floors/, see bench/README.md: a walk that reads and SHA-256s',
  '  every file and writes it by temp file and rename, without fsync, index, history or re-stat; an lstat',
  '  of every path of both roots; one SHA-256 pass over the big file; over ssh the same with the far side',
  '  run by a Node started through one ssh login; `—` where none is defined). **floor/rsync** above a',
  '  target: the target column says `target below floor`.',
  '- **RSS tool**: peak resident memory (largest of the runs) from `/usr/bin/time -f %M`: the largest',
  '  single process of the tool (for local rsync, its biggest of sender/receiver/generator; over ssh, local',
  '  processes only: the far side runs under sshd).',
  '- **wire tool** (ssh scenarios): bytes through ssh, sent + received, in the one untimed counted run of',
  '  that step (payload before ssh encryption, as `rsync --stats` counts); **wire ferry/rsync**: their ratio.',
  '- **target**: ferry targets. Local: initial copy and 1% edit <= 1.0x rsync; no-op on t100k <= 1.0x',
  '  rsync; peak RSS on t100k < 300 MB. Over ssh: ssh-t10k initial <= 0.8x rsync, no-op and 1% edit <=',
  '  1.0x rsync; ssh-big initial >= 90% of the raw `cat | ssh` throughput (raw time / ferry time); ssh-big',
  "  insert: wire bytes (both ways) <= rsync's. `MET` or `missed (why)`; `not run` when sshd was not there.",
  '- **steps**: `initial` = copy into an absent destination (fresh copies and fresh unison archives each',
  '  run); `no-op` = re-run with nothing changed; `1% edit` = 1% of files (seeded choice) get 32 bytes',
  '  overwritten in place and 64 bytes appended, then re-run (each run a new 1%); `insert 100 B` = 100',
  '  bytes inserted at offset 1000 of the big file, shifting the rest, then re-run (each run a new insert);',
  "  `raw cat over ssh` = `cat big.bin | ssh -F CFG hosta 'cat >/dev/null'`, what the link itself carries.",
];

const SSH_METHOD = [
  "- sshd: `test/helpers/sshd.ts` (the integration tests' harness, loaded through tsx): a private OpenSSH",
  '  sshd on 127.0.0.1 with throwaway ed25519 keys and an `ssh -F CFG` config whose host alias `hosta` is',
  '  this machine, so the far side shares the same 2 cores. Source local, destination `hosta:/abs/path`.',
  '  No ControlMaster for anyone (with `-F`, neither `~/.ssh/config` nor `/etc/ssh/ssh_config` is read):',
  '  every run pays its own ssh connection. Default cipher and no compression for all tools.',
  "- Commands: `rsync -a --delete -e 'ssh -F CFG' SRC/ hosta:DST/`; `unison SRC ssh://hosta//DST -batch -auto",
  "  -times -perms 0 -ignore 'Name .ferry' -sshargs '-F CFG' -servercmd 'env UNISON=<dir>-remote unison'`",
  '  (the far unison is the same binary from PATH; its archives also go to a fresh private dir); `ferry sync',
  "  -q -e 'ssh -F CFG -o SetEnv=XDG_CACHE_HOME=bench/work/ssh/ferry-cache' SRC hosta:DST`.",
  '- ferry needs nothing installed on the far side: it uploads its agent (itself) once per build. That',
  '  upload is an untimed warm-up before the first timed ferry run, so timed runs use the cached agent',
  '  (`node` on the far side runs the uploaded copy), as rsync and unison are already installed there.',
  '- Wire bytes: `bench/ssh-count.mjs` is the ssh command for all three tools (rsync `-e`, unison',
  '  `-sshcmd`, ferry `-e`); it relays stdio to the real ssh and counts bytes each way. The relay costs a',
  '  Node start and one more copy of every byte (+0.8 s on 512 MiB here), so **wire bytes come from one',
  '  separate untimed run per tool and step**, after the timed runs, with the same kind of change (a fresh',
  '  initial copy, another no-op, a new 1% edit, a new insert); timed runs use plain `ssh -F CFG`. The',
  '  counted runs are checked like the timed ones (exit code; ferry destination compared).',
  "- raw `cat | ssh`: `cat big.bin | ssh -F CFG hosta 'cat >/dev/null'` (file in the page cache), timed in",
  '  the same run right before ssh-big initial; ferry throughput % = raw time / ferry time.',
];

/** Lines under the ssh table: wire bytes each way and the big file throughput of each tool. */
export function sshDetails(rows, tools) {
  const out = [];
  for (const row of rows.filter((r) => r.ssh && !r.skipped && !(r.ref && !r.target))) {
    const per = tools.filter((t) => row.cells[t]?.wire).map((t) => `${t} ${wireText(row.cells[t].wire)}`);
    if (per.length) out.push(`- ${row.scenario} ${row.step} wire: ${per.join('; ')}`);
    if (row.target?.minRawPct && row.ref?.status === 'ok') {
      const tp = tools
        .filter((t) => row.cells[t]?.status === 'ok')
        .map(
          (t) =>
            `${t} ${rate(row.ref.bytes, row.cells[t].ms)} (${((row.ref.ms / row.cells[t].ms) * 100).toFixed(0)}%)`,
        );
      out.push(
        `- ${row.scenario} ${row.step} throughput: raw cat ${rate(row.ref.bytes, row.ref.ms)}; ${tp.join('; ')}`,
      );
    }
  }
  return out;
}

export function renderResults({ machine, mode, scenarios, rows, tools, haveRss, startup, notes }) {
  const v = machine.versions;
  const local = rows.filter((r) => !r.ssh);
  const ssh = rows.filter((r) => r.ssh);
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
    `- Node ${machine.node}; ${tools.map((t) => `${t}: ${v[t]}`).join('; ')}${machine.ssh ? `; ssh: ${machine.ssh}` : ''}`,
    `- ferry command: \`ferry sync -q ${ferryExtraArgs.length ? `${ferryExtraArgs.join(' ')} ` : ''}SRC DST\`${ferryExtraArgs.includes('--no-fsync') ? ' (durability syncs off, as rsync never syncs)' : ' (default: durable, two syncfs per batch; rsync does not sync by default)'}`,
    `- ferry commit: ${machine.commit}`,
    '',
    '## Method',
    '',
    '- One disk; every tool gets its own identical `cp -a` copy of the source and its own destination.',
    '  Runs of different tools are interleaved. **All runs are warm-cache** (the page cache is not',
    '  dropped: the data was just written or copied).',
    ...(local.length
      ? [
          '- Local to local: `rsync -a --delete SRC/ DST/`; `unison SRC DST -batch -auto -times -perms 0 -ignore',
          "  'Name .ferry'` with `UNISON=bench/work/unison-state/<scenario>-<run>` (fresh per initial run);",
          '  `node bench/work/ferry.mjs sync -q SRC DST`.',
        ]
      : []),
    '- ferry runs from `bench/work/ferry.mjs`, a copy of `dist/ferry.mjs` taken when the bench starts.',
    `- \`node -e 0\` start-up: **${secs(startup.ms)}**${startup.rssKB ? ` (${mb(startup.rssKB)} RSS)` : ''}, median of 5 — part of every ferry time.`,
    ...scenarios.map((s) =>
      s.info
        ? `- ${s.id}: ${describeData(s.info)} (seeded, incompressible).`
        : `- ${s.id}: skipped: ${s.skipped}.`,
    ),
    ...notes.map((n) => `- ${n}`),
  ];
  if (ssh.length) lines.push('', '### Over ssh', '', ...SSH_METHOD);
  if (local.length)
    lines.push(
      '',
      `## Results${ssh.length ? ': local to local' : ''}`,
      '',
      renderTable(local, tools, haveRss),
    );
  if (ssh.length) {
    lines.push('', '## Results: over ssh (loopback sshd)', '', renderTable(ssh, tools, haveRss));
    const extra = [...skippedNotes(scenarios), ...sshDetails(ssh, tools)];
    if (extra.length) lines.push('', ...extra);
  }
  lines.push('', '## Columns', '', ...LEGEND);
  lines.push('', '## Individual runs (seconds, in run order; x = failed)', '');
  const runs = (list) => list.map((ms) => (ms == null ? 'x' : (ms / 1000).toFixed(3))).join(' ') || '—';
  for (const row of rows) {
    if (row.ref && !row.target) {
      lines.push(`- ${row.scenario} ${row.step}: ${runs(row.ref.runsMs ?? [])}`);
      continue;
    }
    const per = tools.map((t) => `${t} ${runs(row.cells[t].runsMs ?? [])}`);
    lines.push(`- ${row.scenario} ${row.step}: ${per.join('; ')}`);
  }
  const p = problems(rows);
  if (p.length) lines.push('', '## Failures and mismatches', '', ...p);
  return `${lines.join('\n')}\n`;
}

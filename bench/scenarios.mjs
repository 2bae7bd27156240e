// Scenarios: which trees, which steps, how many timed runs, which targets ferry must meet.
// Every tool gets its own `cp -a` copy of one generated master tree (work/<id>/<tool>/src) and its own
// destination (work/<id>/<tool>/dst, absent before the initial copy). Runs are interleaved across tools.
// ssh scenarios (`ssh: true`) reach the destination as hosta:<dst> through the loopback sshd (ssh.mjs);
// their `wire` steps add one untimed run per tool through the counting ssh wrapper for bytes on the wire.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { ensureFerryAgent, rawCatCommand, readWire } from './ssh.mjs';
import { isFloor, median, runTimed, TOOLS } from './tools.mjs';
import {
  compareTrees,
  copyTree,
  editFraction,
  generateBig,
  generateTree,
  insertBytes,
  removeTree,
} from './tree.mjs';

const KiB = 1024;
const MiB = 1024 * KiB;
const RATIO = { maxRatio: 1.0 }; // ferry <= 1.0x rsync
const RATIO_RSS = { maxRatio: 1.0, maxRssMB: 300 };
// Over ssh (issue "ferry sync part 2"): initial tree <= 0.8x rsync; 1% edit and no-op <= 1.0x rsync; the big
// initial copy at >= 90% of raw `cat | ssh` throughput; bytes on the wire for the insert <= rsync's.
const SSH_INITIAL = { maxRatio: 0.8 };

/** Scenario list; `quick` shrinks the trees for a smoke run. */
export function scenarioSpecs(quick) {
  return [
    {
      id: 't10k',
      tree: { files: quick ? 2000 : 10000, dirs: quick ? 20 : 100, minSize: 512, maxSize: 64 * KiB, seed: 1 },
      steps: [
        { step: 'initial', runs: 3, target: RATIO },
        { step: 'no-op', runs: 3 },
        { step: '1% edit', runs: 3, target: RATIO },
      ],
    },
    {
      id: 't100k',
      tree: {
        files: quick ? 10000 : 100000,
        dirs: quick ? 100 : 1000,
        minSize: 102,
        maxSize: 4 * KiB,
        seed: 2,
      },
      steps: [
        { step: 'initial', runs: 3, target: RATIO_RSS },
        { step: 'no-op', runs: 3, target: RATIO_RSS },
        { step: '1% edit', runs: 3, target: RATIO_RSS },
      ],
    },
    {
      id: 'big',
      big: { size: quick ? 64 * MiB : 512 * MiB, seed: 3 },
      steps: [
        { step: 'initial', runs: quick ? 3 : 1, target: RATIO },
        { step: 'insert 100 B', runs: 3 },
      ],
    },
    {
      id: 'ssh-t10k',
      ssh: true,
      tree: { files: quick ? 2000 : 10000, dirs: quick ? 20 : 100, minSize: 512, maxSize: 64 * KiB, seed: 1 },
      steps: [
        { step: 'initial', runs: 3, target: SSH_INITIAL, wire: true },
        { step: 'no-op', runs: 3, target: RATIO, wire: true },
        { step: '1% edit', runs: 3, target: RATIO, wire: true },
      ],
    },
    {
      id: 'ssh-big',
      ssh: true,
      big: { size: quick ? 64 * MiB : 512 * MiB, seed: 3 },
      steps: [
        { step: 'raw cat over ssh', runs: 3, raw: true },
        { step: 'initial', runs: quick ? 3 : 1, target: { minRawPct: 90 }, wire: true },
        { step: 'insert 100 B', runs: 3, target: { maxWireRatio: 1.0 }, wire: true },
      ],
    },
  ];
}

/** Human description of a scenario's data, e.g. "10,000 files in 100 dirs, 132.5 MB". */
export function describeData(info) {
  const mb = (info.bytes / 1e6).toFixed(1);
  return info.files === 1
    ? `1 file, ${mb} MB`
    : `${info.files.toLocaleString('en')} files in ${info.dirs} dirs, ${mb} MB`;
}

/**
 * Runs one scenario for `tools`; returns { id, info, ssh, skipped?, rows }. A row is
 * { scenario, step, runs, target, ssh, cells: { tool: { status, ms, rssKB, code, detail, runsMs, wire? } } }
 * (wire = { sent, received, conns } from the untimed counted run); a reference row (raw `cat | ssh`) has
 * `ref` = { status, ms, bytes, runsMs } and no cells, and the rows after it carry the same `ref`.
 * `ssh` is ssh.mjs's startSsh() result: ssh scenarios need it ok, else they come back skipped with its reason.
 */
export async function runScenario(sc, { tools, workDir, log, timeoutMs, keep, ssh }) {
  if (sc.ssh && !ssh?.ok) return skippedScenario(sc, tools, ssh?.reason ?? 'sshd not started', log);
  const remote = sc.ssh ? ssh : null;
  const root = join(workDir, sc.id);
  removeTree(root);
  const master = join(root, 'master');
  log(`${sc.id}: generating data...`);
  const info = sc.tree ? generateTree(master, sc.tree) : generateBig(master, sc.big);
  log(`${sc.id}: ${describeData(info)}`);
  // One fresh folder per tool and initial run, never deleted until the scenario ends: on this VM, deleting
  // a big tree makes the next file creations much slower, which would land on whichever tool runs next.
  const fresh = (t, label) => {
    const base = join(root, `${t}-${label}`);
    return {
      base,
      src: join(base, 'src'),
      dst: join(base, 'dst'),
      unisonDir: join(workDir, 'unison-state', `${sc.id}-${label}`),
    };
  };
  // Puts st into the state the step starts from; `n` numbers the run (seeds the edit or insert).
  const prepare = (t, step, st, n) => {
    if (step === 'initial') {
      if (t === 'unison') {
        // fresh archives, on both sides over ssh: this is unison's first sync of these replicas
        for (const d of [st.unisonDir, `${st.unisonDir}-remote`]) {
          removeTree(d);
          fs.mkdirSync(d, { recursive: true });
        }
      }
      fs.mkdirSync(st.base, { recursive: true });
      copyTree(master, st.src);
    } else if (step === '1% edit') editFraction(st.src, 1000 + n);
    else if (step.startsWith('insert')) insertBytes(join(st.src, 'big.bin'), 1000, 100, n);
  };
  const state = {};
  const alive = new Set(tools);
  const rows = [];
  let ref;
  for (const spec of sc.steps) {
    if (spec.raw) {
      ref = await rawReference(sc, spec, { file: join(master, 'big.bin'), root, remote, timeoutMs, log });
      rows.push({ scenario: sc.id, step: spec.step, runs: spec.runs, ssh: true, ref, cells: {} });
      continue;
    }
    const results = Object.fromEntries(tools.map((t) => [t, []]));
    for (let run = 0; run < spec.runs; run++) {
      // Rotate the order each run, so no tool always runs right after the same other tool.
      for (const t of [...tools.slice(run % tools.length), ...tools.slice(0, run % tools.length)]) {
        if (!alive.has(t)) continue;
        const step = { remote, step: spec.step, big: Boolean(sc.big) };
        let st;
        if (isFloor(t) && spec.step !== 'initial') {
          // A floor after the initial copy only reads (lstat, hash): it times the trees of a tool that
          // has them, unedited (reading an edited file costs the same), and changes nothing there.
          st = state[t] ?? state[tools.find((o) => state[o] && !isFloor(o))];
          if (!st || commandFor(t, st, step) === null) continue;
        } else {
          if (spec.step === 'initial') {
            if (commandFor(t, fresh(t, run + 1), step) === null) continue; // no floor for this step
            state[t] = fresh(t, run + 1);
          }
          st = state[t];
          prepare(t, spec.step, st, run);
        }
        const r = await once(t, st, { timeoutMs, ...step });
        log(`${sc.id} ${spec.step} ${run + 1}/${spec.runs} ${t}: ${brief(r)}`);
        results[t].push(r);
      }
    }
    const cells = Object.fromEntries(
      tools.map((t) => [
        t,
        !alive.has(t) ? skipped() : results[t].length ? aggregate(results[t]) : noFloor(),
      ]),
    );
    for (const t of tools) cells[t].runsMs = results[t].map((r) => (r.code === 0 ? r.ms : null));
    for (const t of tools) if (spec.step === 'initial' && cells[t].status === 'failed') alive.delete(t);
    if (spec.wire && remote) {
      // One more run per tool, untimed, through the counting wrapper (it costs a Node start and a copy
      // of every byte, so it stays out of the timed runs). Same kind of change as the timed runs.
      for (const t of tools) {
        if (!alive.has(t) || cells[t].status !== 'ok' || isFloor(t)) continue;
        const st = spec.step === 'initial' ? fresh(t, 'wire') : state[t];
        prepare(t, spec.step, st, spec.runs);
        const countFile = join(st.base, `wire-${spec.step.replace(/\W+/g, '_')}.txt`);
        const r = await once(t, st, { timeoutMs, remote, countFile });
        const wire = await readWire(countFile);
        log(`${sc.id} ${spec.step} wire ${t}: ${brief(r)}${wire ? `, ${wireText(wire)}` : ''}`);
        if (r.code !== 0 || r.mismatch) {
          const c = aggregate([r]);
          Object.assign(cells[t], {
            status: c.status,
            code: c.code,
            detail: `untimed wire-count run: ${c.detail}`,
          });
        } else if (wire) cells[t].wire = wire;
      }
    }
    rows.push({
      scenario: sc.id,
      step: spec.step,
      runs: spec.runs,
      target: spec.target,
      ssh: Boolean(sc.ssh),
      ...(ref ? { ref } : {}),
      cells,
    });
  }
  // Sanity check of the harness itself: the other tools' final trees must match their sources too.
  const last = rows[rows.length - 1];
  for (const t of tools) {
    if (t === 'ferry' || isFloor(t) || !alive.has(t) || last.cells[t].status !== 'ok') continue;
    const why = compareTrees(state[t].src, state[t].dst);
    if (why) Object.assign(last.cells[t], { status: 'mismatch', detail: why });
  }
  if (!keep) {
    removeTree(root);
    removeTree(join(workDir, 'unison-state'));
  }
  return { id: sc.id, info, ssh: Boolean(sc.ssh), rows };
}

/** Rows for an ssh scenario that cannot run here: every cell `skipped`, the reason on the scenario. */
function skippedScenario(sc, tools, reason, log) {
  log(`${sc.id}: skipped: ${reason}`);
  const cell = () => ({ status: 'skipped', ms: null, rssKB: null, detail: reason, runsMs: [] });
  const rows = sc.steps.map((spec) => ({
    scenario: sc.id,
    step: spec.step,
    runs: 0,
    target: spec.target,
    ssh: true,
    skipped: reason,
    ...(spec.raw ? { ref: { status: 'skipped', ms: null, runsMs: [] } } : {}),
    cells: spec.raw ? {} : Object.fromEntries(tools.map((t) => [t, cell()])),
  }));
  return { id: sc.id, info: null, ssh: true, skipped: reason, rows };
}

/** Times `cat FILE | ssh hosta 'cat >/dev/null'`: what the ssh link itself can carry, file in page cache. */
async function rawReference(sc, spec, { file, root, remote, timeoutMs, log }) {
  const rs = [];
  for (let run = 0; run < spec.runs; run++) {
    spawnSync('sync');
    const r = await runTimed(rawCatCommand(remote, file), { logDir: join(root, 'raw-log'), timeoutMs });
    log(`${sc.id} ${spec.step} ${run + 1}/${spec.runs}: ${brief(r)}`);
    rs.push(r);
  }
  const runsMs = rs.map((r) => (r.code === 0 ? r.ms : null));
  const failed = rs.find((r) => r.code !== 0);
  if (failed) return { status: 'failed', code: failed.code, ms: null, detail: failed.stderr.trim(), runsMs };
  return { status: 'ok', ms: median(rs.map((r) => r.ms)), bytes: fs.statSync(file).size, runsMs };
}

/** The command line `tool` runs for one step on state `st`; null when it has none (a floor). */
function commandFor(tool, st, { remote, countFile, step, big }) {
  const dst = remote ? { host: remote.host, path: st.dst } : { path: st.dst };
  const ctx = {
    step,
    big,
    unisonDir: st.unisonDir,
    ...(remote
      ? {
          ssh: countFile ? remote.countSsh : remote.ssh,
          unisonServerDir: `${st.unisonDir}-remote`,
          ferryCache: remote.ferryCache,
        }
      : {}),
  };
  return TOOLS[tool].command({ path: st.src }, dst, ctx);
}

async function once(tool, st, { timeoutMs, remote, countFile, step, big }) {
  if (tool === 'ferry' && remote) {
    const err = ensureFerryAgent(remote);
    if (err) return { ms: null, code: 'warm-up', rssKB: null, stderr: err, timedOut: false, mismatch: null };
  }
  // Flush dirty pages from setup (cp, rm, edits) and earlier runs, so no run pays for another's writeback.
  spawnSync('sync');
  const cmd = commandFor(tool, st, { remote, countFile, step, big });
  if (countFile) {
    fs.rmSync(countFile, { force: true });
    cmd.env = { ...cmd.env, SSH_COUNT_FILE: countFile };
  }
  const r = await runTimed(cmd, { logDir: join(st.base, countFile ? 'log-wire' : 'log'), timeoutMs });
  const mismatch = r.code === 0 && tool === 'ferry' ? compareTrees(st.src, st.dst) : null;
  return { ...r, mismatch };
}

/** "108.1 KB sent + 57.5 KB received (1 ssh)". */
export function wireText(w) {
  const lost = w.unfinished > 0 ? `, ${w.unfinished} more ssh killed before counting` : '';
  return `${bytesText(w.sent)} sent + ${bytesText(w.received)} received (${w.conns} ssh${lost})`;
}

export function bytesText(n) {
  if (n == null) return '—';
  if (n < 1e3) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} KB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}

function brief(r) {
  if (r.code !== 0) {
    const lines = r.stderr.split('\n').filter((l) => l.trim());
    return `failed (exit ${r.code}) ${lines.find((l) => /error/i.test(l)) ?? lines.pop() ?? ''}`;
  }
  return `${(r.ms / 1000).toFixed(3)} s${r.rssKB ? `, ${(r.rssKB / 1024).toFixed(0)} MiB` : ''}${r.mismatch ? ` MISMATCH: ${r.mismatch}` : ''}`;
}

function skipped() {
  return { status: 'skipped', ms: null, rssKB: null, detail: 'initial copy failed' };
}

function noFloor() {
  return { status: 'none', ms: null, rssKB: null, detail: 'no floor defined for this step' };
}

/** Median wall time and largest peak RSS over the runs; any failure or mismatch marks the cell. */
function aggregate(rs) {
  const failed = rs.find((r) => r.code !== 0);
  if (failed)
    return { status: 'failed', code: failed.code, ms: null, rssKB: null, detail: failed.stderr.trim() };
  const ms = median(rs.map((r) => r.ms));
  const rss = rs.map((r) => r.rssKB).filter((x) => x != null);
  const rssKB = rss.length ? Math.max(...rss) : null;
  const bad = rs.find((r) => r.mismatch);
  return bad ? { status: 'mismatch', ms, rssKB, detail: bad.mismatch } : { status: 'ok', ms, rssKB };
}

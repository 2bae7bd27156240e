// Scenarios: which trees, which steps, how many timed runs, which targets ferry must meet.
// Every tool gets its own `cp -a` copy of one generated master tree (work/<id>/<tool>/src) and its own
// destination (work/<id>/<tool>/dst, absent before the initial copy). Runs are interleaved across tools.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { median, runTimed, TOOLS } from './tools.mjs';
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
 * Runs one scenario for `tools`; returns { id, info, rows }. A row is
 * { scenario, step, runs, target, cells: { tool: { status, ms, rssKB, code, detail } } }.
 */
export async function runScenario(sc, { tools, workDir, log, timeoutMs, keep }) {
  const root = join(workDir, sc.id);
  removeTree(root);
  const master = join(root, 'master');
  log(`${sc.id}: generating data...`);
  const info = sc.tree ? generateTree(master, sc.tree) : generateBig(master, sc.big);
  log(`${sc.id}: ${describeData(info)}`);
  // One fresh folder per tool and initial run, never deleted until the scenario ends: on this VM, deleting
  // a big tree makes the next file creations much slower, which would land on whichever tool runs next.
  const fresh = (t, run) => {
    const base = join(root, `${t}-${run + 1}`);
    return {
      base,
      src: join(base, 'src'),
      dst: join(base, 'dst'),
      unisonDir: join(workDir, 'unison-state', `${sc.id}-${run + 1}`),
    };
  };
  const state = {};
  const alive = new Set(tools);
  const rows = [];
  for (const spec of sc.steps) {
    const results = Object.fromEntries(tools.map((t) => [t, []]));
    for (let run = 0; run < spec.runs; run++) {
      // Rotate the order each run, so no tool always runs right after the same other tool.
      for (const t of [...tools.slice(run % tools.length), ...tools.slice(0, run % tools.length)]) {
        if (!alive.has(t)) continue;
        if (spec.step === 'initial') state[t] = fresh(t, run);
        const st = state[t];
        if (spec.step === 'initial') {
          if (t === 'unison') {
            removeTree(st.unisonDir); // fresh archives: this is unison's first sync of these replicas
            fs.mkdirSync(st.unisonDir, { recursive: true });
          }
          fs.mkdirSync(st.base, { recursive: true });
          copyTree(master, st.src);
        } else if (spec.step === '1% edit') editFraction(st.src, 1000 + run);
        else if (spec.step.startsWith('insert')) insertBytes(join(st.src, 'big.bin'), 1000, 100, run);
        const r = await once(t, st, timeoutMs);
        log(`${sc.id} ${spec.step} ${run + 1}/${spec.runs} ${t}: ${brief(r)}`);
        results[t].push(r);
      }
    }
    const cells = Object.fromEntries(tools.map((t) => [t, alive.has(t) ? aggregate(results[t]) : skipped()]));
    for (const t of tools) cells[t].runsMs = results[t].map((r) => (r.code === 0 ? r.ms : null));
    for (const t of tools) if (spec.step === 'initial' && cells[t].status === 'failed') alive.delete(t);
    rows.push({ scenario: sc.id, step: spec.step, runs: spec.runs, target: spec.target, cells });
  }
  // Sanity check of the harness itself: the other tools' final trees must match their sources too.
  const last = rows[rows.length - 1];
  for (const t of tools) {
    if (t === 'ferry' || !alive.has(t) || last.cells[t].status !== 'ok') continue;
    const why = compareTrees(state[t].src, state[t].dst);
    if (why) Object.assign(last.cells[t], { status: 'mismatch', detail: why });
  }
  if (!keep) {
    removeTree(root);
    removeTree(join(workDir, 'unison-state'));
  }
  return { id: sc.id, info, rows };
}

async function once(tool, st, timeoutMs) {
  // Flush dirty pages from setup (cp, rm, edits) and earlier runs, so no run pays for another's writeback.
  spawnSync('sync');
  const cmd = TOOLS[tool].command({ path: st.src }, { path: st.dst }, { unisonDir: st.unisonDir });
  const r = await runTimed(cmd, { logDir: join(st.base, 'log'), timeoutMs });
  const mismatch = r.code === 0 && tool === 'ferry' ? compareTrees(st.src, st.dst) : null;
  return { ...r, mismatch };
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

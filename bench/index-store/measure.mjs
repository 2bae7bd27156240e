// Compares index-store candidates for ferry (docs/index-store-choice.md):
//   log    - src/adapters/index-store/log-store.ts (map + append-only log + compaction, msgpackr)
//   sqlite - SQLite compiled to wasm (node-sqlite3-wasm), one row per path, EXCLUSIVE locking
//   json   - one JSON file rewritten whole (temp file, fsync, rename, fsync dir)
// Every measurement runs in a fresh child process so heap and RSS numbers are not polluted.
// Usage: node --import tsx bench/index-store/measure.mjs [100000 300000]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const self = fileURLToPath(import.meta.url);
const WORK = join(tmpdir(), 'ferry-bench-index');
const META = { replicaId: 'r-aaaaaaaaaaaa', createdAt: 1_700_000_000_000, peers: {} };

// ---- data: path ~40 chars, vv with 2-3 keys, 64-hex hash, stat stamp -----------------------
function hex64(i) {
  return (i * 2654435761).toString(16).padStart(16, '0').slice(-16).repeat(4);
}
function record(i, gen = 0) {
  const path = `home/docs/d${i % 997}/s${i % 31}/file-${i}.dat`;
  const vv = { 'r-aaaaaaaaaaaa': i + gen, 'r-bbbbbbbbbbbb': 3 };
  if (i % 3 === 0) vv['r-cccccccccccc'] = 1;
  const mtime = 1.7e12 + i + 0.123;
  return {
    entry: { kind: 'file', path, vv, size: i * 10, mtime, exec: false, hash: hex64(i + gen) },
    stat: { size: i * 10, mtime, ctime: mtime + 0.5, ino: 1_000_000 + i },
  };
}

// ---- candidates ---------------------------------------------------------------------------------
async function logStore(dir) {
  const { openLogIndexStore } = await import('../../src/adapters/index-store/log-store.ts');
  const s = openLogIndexStore(dir);
  return {
    writeAll: (records) => s.compact({ meta: META, records }),
    loadAll: async () => (await s.load())?.records,
    append: (changes) => s.append(changes),
    close: () => s.close(),
  };
}

function sqliteModule() {
  const req = createRequire(join(here, 'package.json'));
  if (!existsSync(join(here, 'node_modules', 'node-sqlite3-wasm'))) {
    const r = spawnSync('npm', ['install', '--prefix', here, '--no-audit', '--no-fund'], {
      stdio: 'inherit',
    });
    if (r.status !== 0) throw new Error('npm install of bench deps failed');
  }
  return req('node-sqlite3-wasm');
}

async function sqliteStore(dir) {
  const { Database } = sqliteModule();
  mkdirSync(dir, { recursive: true });
  const db = new Database(join(dir, 'index.sqlite'));
  db.exec('PRAGMA locking_mode=EXCLUSIVE');
  const mode = db.get('PRAGMA journal_mode=WAL');
  db.exec('PRAGMA synchronous=FULL');
  db.exec(`CREATE TABLE IF NOT EXISTS entries (path TEXT PRIMARY KEY, kind TEXT, vv TEXT, size INTEGER,
    mtime REAL, exec INTEGER, hash TEXT, st_size INTEGER, st_mtime REAL, st_ctime REAL, st_ino INTEGER) WITHOUT ROWID`);
  const put = (rs) => {
    const stmt = db.prepare('INSERT OR REPLACE INTO entries VALUES (?,?,?,?,?,?,?,?,?,?,?)');
    db.exec('BEGIN');
    for (const { record: r } of rs) {
      const e = r.entry;
      const st = r.stat;
      stmt.run([
        e.path,
        e.kind,
        JSON.stringify(e.vv),
        e.size,
        e.mtime,
        e.exec ? 1 : 0,
        e.hash,
        st.size,
        st.mtime,
        st.ctime,
        st.ino,
      ]);
    }
    db.exec('COMMIT');
    stmt.finalize();
  };
  return {
    journal: Object.values(mode ?? {})[0],
    writeAll: async (records) => put([...records].map(([path, record]) => ({ path, record }))),
    loadAll: async () => {
      const out = new Map();
      const stmt = db.prepare('SELECT * FROM entries');
      for (const r of stmt.iterate()) {
        const entry = {
          kind: r.kind,
          path: r.path,
          vv: JSON.parse(r.vv),
          size: r.size,
          mtime: r.mtime,
          exec: r.exec === 1,
          hash: r.hash,
        };
        out.set(r.path, {
          entry,
          stat: { size: r.st_size, mtime: r.st_mtime, ctime: r.st_ctime, ino: r.st_ino },
        });
      }
      stmt.finalize();
      return out;
    },
    append: async (changes) => put(changes),
    close: async () => db.close(),
  };
}

async function jsonStore(dir, { inPlace = false } = {}) {
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'index.json');
  let state = new Map();
  const save = async () => {
    const text = JSON.stringify({ meta: META, records: [...state.values()] });
    const target = inPlace ? file : `${file}.tmp`;
    const h = await open(target, 'w');
    await h.writeFile(text);
    await h.sync();
    await h.close();
    if (inPlace) return;
    await rename(target, file);
    const d = await open(dir, 'r');
    await d.sync();
    await d.close();
  };
  return {
    writeAll: async (records) => {
      state = new Map(records);
      await save();
    },
    loadAll: async () => {
      const doc = JSON.parse(await readFile(file, 'utf8'));
      state = new Map(doc.records.map((r) => [r.entry.path, r]));
      return state;
    },
    append: async (changes) => {
      for (const c of changes) c.record === null ? state.delete(c.path) : state.set(c.path, c.record);
      await save();
    },
    close: async () => {},
  };
}

const CANDIDATES = {
  log: logStore,
  // The same store with msgpackr's optional native string extractor off: what the single-file
  // agent bundle gets on a host with only Node.js.
  'log-purejs': logStore,
  sqlite: sqliteStore,
  json: jsonStore,
  'json-inplace': (d) => jsonStore(d, { inPlace: true }),
};

// ---- child operations ---------------------------------------------------------------------------
async function child(op, name, n, dir) {
  const store = await CANDIDATES[name](dir);
  const report = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
  if (op === 'write') {
    const records = new Map();
    for (let i = 0; i < n; i++) {
      const r = record(i);
      records.set(r.entry.path, r);
    }
    const t = performance.now();
    await store.writeAll(records);
    report({ writeMs: performance.now() - t, journal: store.journal });
  } else if (op === 'load') {
    globalThis.gc();
    const heap0 = process.memoryUsage().heapUsed;
    const rss0 = process.memoryUsage().rss;
    const t = performance.now();
    const m = await store.loadAll();
    const loadMs = performance.now() - t;
    const maxRss = process.resourceUsage().maxRSS * 1024;
    globalThis.gc();
    const heapRetained = process.memoryUsage().heapUsed - heap0;
    if (m.size !== n) throw new Error(`${name}: loaded ${m.size} of ${n}`);
    report({ loadMs, heapRetainedMB: heapRetained / 2 ** 20, peakRssGrowthMB: (maxRss - rss0) / 2 ** 20 });
  } else if (op === 'append') {
    await store.loadAll();
    const changes = [];
    for (let i = 0; i < 1000; i++) {
      const r = record((i * 7) % n, 1);
      changes.push({ path: r.entry.path, record: r });
    }
    const t = performance.now();
    await store.append(changes);
    report({ appendMs: performance.now() - t });
  } else if (op === 'crash') {
    // Appends batches of 100 changes forever; each line = that batch is durable.
    await store.loadAll();
    for (let b = 0; ; b++) {
      const changes = [];
      for (let i = 0; i < 100; i++) {
        const r = record(n + b * 100 + i);
        changes.push({ path: r.entry.path, record: r });
      }
      await store.append(changes);
      process.stdout.write(`done ${b}\n`);
    }
  }
  await store.close();
}

function runChild(args) {
  const env = { ...process.env };
  if (args[1] === 'log-purejs') env.MSGPACKR_NATIVE_ACCELERATION_DISABLED = 'true';
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', self, '--child', ...args], {
    env,
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`child ${args.join(' ')} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/**
 * Kills a crash-mode writer `delayMs` after its k-th durable batch (varied so kills land in
 * different phases of the next write), then checks what a reload finds.
 */
async function crashOnce(name, n, dir, k, delayMs) {
  const p = spawn(process.execPath, ['--import', 'tsx', self, '--child', 'crash', name, String(n), dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((res) => p.once('exit', res));
  let last = -1;
  for await (const line of createInterface({ input: p.stdout })) {
    last = Number(line.split(' ')[1]);
    if (last >= k) {
      await new Promise((res) => setTimeout(res, delayMs));
      p.kill('SIGKILL');
      break;
    }
  }
  await exited;
  let note = '';
  for (let attempt = 0; ; attempt++) {
    try {
      const store = await CANDIDATES[name](dir);
      const m = await store.loadAll();
      await store.close();
      for (let i = 0; i < n + (last + 1) * 100; i++) {
        if (!m.has(record(i).entry.path)) return `${note}LOST (${m.size} of ${n + (last + 1) * 100} left)`;
      }
      return `${note}ok`;
    } catch (e) {
      const lockDir = join(dir, 'index.sqlite.lock');
      if (attempt === 0 && /locked/.test(e.message) && existsSync(lockDir)) {
        // node-sqlite3-wasm locks with a directory that a killed process leaves behind.
        rmSync(lockDir, { recursive: true });
        note = 'stale lock removed by hand, then ';
        continue;
      }
      return `${note}LOAD FAILED: ${String(e.message).slice(0, 80)}`;
    }
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  if (process.argv[2] === '--child') {
    const [, , , op, name, n, dir] = process.argv;
    await child(op, name, Number(n), dir);
    return;
  }
  const sizes = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [100_000, 300_000];
  sqliteModule(); // install on demand before timing anything
  rmSync(WORK, { recursive: true, force: true });
  const rows = [];
  const ROUNDS = 5;
  const names = ['log', 'log-purejs', 'sqlite', 'json'];
  for (const n of sizes) {
    const acc = Object.fromEntries(names.map((name) => [name, { loads: [], appends: [] }]));
    for (const name of names) {
      acc[name].write = runChild(['write', name, String(n), join(WORK, `${name}-${n}`)]);
    }
    // Round-robin, so load from other processes on the machine hits every candidate alike.
    for (let r = 0; r < ROUNDS; r++) {
      for (const name of names) {
        const dir = join(WORK, `${name}-${n}`);
        acc[name].loads.push(runChild(['load', name, String(n), dir]));
        acc[name].appends.push(runChild(['append', name, String(n), dir]).appendMs);
      }
    }
    for (const name of names) {
      const { write, loads, appends } = acc[name];
      const row = {
        n,
        name: name === 'sqlite' ? `sqlite (${write.journal})` : name,
        writeMs: write.writeMs,
        loadMs: median(loads.map((l) => l.loadMs)),
        heapMB: median(loads.map((l) => l.heapRetainedMB)),
        peakRssMB: median(loads.map((l) => l.peakRssGrowthMB)),
        append1000Ms: median(appends),
      };
      rows.push(row);
      console.error(JSON.stringify(row));
    }
  }
  console.log('| entries | store | write all | load all | heap retained | peak RSS growth | append 1000 |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.n / 1000}k | ${r.name} | ${r.writeMs.toFixed(0)} ms | ${r.loadMs.toFixed(0)} ms | ${r.heapMB.toFixed(0)} MB | ${r.peakRssMB.toFixed(0)} MB | ${r.append1000Ms.toFixed(1)} ms |`,
    );
  }
  // Crash safety: SIGKILL right after the k-th durable batch (so usually inside the next write).
  const crashN = 20_000;
  for (const name of ['log', 'sqlite', 'json', 'json-inplace']) {
    const results = [];
    for (const [k, delayMs] of [
      [3, 0],
      [10, 1],
      [20, 3],
      [30, 7],
      [40, 15],
      [50, 30],
    ]) {
      const dir = join(WORK, `crash-${name}-${k}`);
      runChild(['write', name, String(crashN), dir]);
      results.push(await crashOnce(name, crashN, dir, k, delayMs));
    }
    const counts = new Map();
    for (const r of results) counts.set(r, (counts.get(r) ?? 0) + 1);
    console.log(
      `crash ${name} (${results.length} kills): ${[...counts].map(([r, c]) => `${c}x ${r}`).join('; ')}`,
    );
  }
  await writeFile(join(WORK, 'done'), '');
}

await main();

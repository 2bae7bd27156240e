// Deterministic test trees for the bench: generation, 1% edits, byte insertion, tree comparison.
// Structure (dirs, names, sizes, which files get edited) comes from a seeded mulberry32 PRNG; file bytes
// come from a seeded AES-256-CTR keystream (incompressible, fast, never repeating), consumed from a big
// pool buffer by offset, so no two files share content and chunk-level dedup cannot flatter any tool.
import { spawnSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';

const POOL_BYTES = 32 * 1024 * 1024;

/** Seeded PRNG returning floats in [0, 1). */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random byte source: a pool buffer refilled from a seeded keystream; take(n) hands out the next n bytes. */
export class BytePool {
  constructor(label) {
    const key = createHash('sha256').update(`ferry-bench:${label}`).digest();
    this.cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
    this.zeros = Buffer.alloc(POOL_BYTES);
    this.buf = Buffer.alloc(0);
    this.off = 0;
  }
  take(n) {
    if (this.off + n <= this.buf.length) {
      this.off += n;
      return this.buf.subarray(this.off - n, this.off);
    }
    const parts = [this.buf.subarray(this.off)];
    let have = parts[0].length;
    while (have < n) {
      this.buf = this.cipher.update(this.zeros);
      this.off = Math.min(n - have, this.buf.length);
      parts.push(this.buf.subarray(0, this.off));
      have += this.off;
    }
    return Buffer.concat(parts, n);
  }
}

function writeRandomFile(path, size, pool) {
  const fd = fs.openSync(path, 'w');
  try {
    for (let left = size; left > 0; ) {
      const chunk = pool.take(Math.min(left, 8 * 1024 * 1024));
      fs.writeSync(fd, chunk);
      left -= chunk.length;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Writes a tree of `files` files into ~`dirs` leaf directories two levels deep (dNN/eNN), sizes
 * log-uniform in [minSize, maxSize]. Returns { files, dirs, bytes }.
 */
export function generateTree(root, { files, dirs, minSize, maxSize, seed }) {
  const rng = prng(seed);
  const pool = new BytePool(`tree:${seed}`);
  const top = Math.ceil(Math.sqrt(dirs));
  const leaves = [];
  for (let i = 0; leaves.length < dirs; i++) {
    for (let j = 0; j < top && leaves.length < dirs; j++)
      leaves.push(join(root, `d${pad(i, top)}`, `e${pad(j, top)}`));
  }
  for (const d of leaves) fs.mkdirSync(d, { recursive: true });
  const lo = Math.log(minSize);
  const hi = Math.log(maxSize);
  let bytes = 0;
  for (let k = 0; k < files; k++) {
    const dir = leaves[Math.floor(rng() * leaves.length)];
    const size = Math.floor(Math.exp(lo + rng() * (hi - lo)));
    fs.writeFileSync(join(dir, `f${pad(k, files)}.bin`), pool.take(size));
    bytes += size;
  }
  return { files, dirs: leaves.length, bytes };
}

/** One file of `size` random bytes at root/big.bin. */
export function generateBig(root, { size, seed }) {
  fs.mkdirSync(root, { recursive: true });
  writeRandomFile(join(root, 'big.bin'), size, new BytePool(`big:${seed}`));
  return { files: 1, dirs: 0, bytes: size };
}

function pad(i, n) {
  return String(i).padStart(String(Math.max(n - 1, 1)).length, '0');
}

/** Sorted list of { rel, type: 'd'|'f'|'l', abs } under root, skipping every entry named `exclude`. */
export function walk(root, exclude = '.ferry') {
  const out = [];
  const visit = (abs, rel) => {
    for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
      if (e.name === exclude) continue;
      const a = join(abs, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        out.push({ rel: r, type: 'd', abs: a });
        visit(a, r);
      } else out.push({ rel: r, type: e.isSymbolicLink() ? 'l' : 'f', abs: a });
    }
  };
  visit(root, '');
  return out.sort((x, y) => (x.rel < y.rel ? -1 : x.rel > y.rel ? 1 : 0));
}

function hashFile(path, buf) {
  const h = createHash('sha256');
  const fd = fs.openSync(path, 'r');
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/** One line per entry: type, path, and for files size + SHA-256 (symlinks: target). */
export function treeManifest(root, exclude = '.ferry') {
  if (!fs.existsSync(root)) return null;
  const buf = Buffer.allocUnsafe(1024 * 1024);
  return walk(root, exclude).map((e) => {
    if (e.type === 'd') return `d ${e.rel}`;
    if (e.type === 'l') return `l ${e.rel} -> ${fs.readlinkSync(e.abs)}`;
    return `f ${e.rel} ${fs.statSync(e.abs).size} ${hashFile(e.abs, buf)}`;
  });
}

/** null when the trees hold the same paths and bytes (ignoring `.ferry`), else a short reason. */
export function compareTrees(a, b) {
  const ma = treeManifest(a);
  const mb = treeManifest(b);
  if (!ma || !mb) return `${ma ? b : a} does not exist`;
  const n = Math.max(ma.length, mb.length);
  for (let i = 0; i < n; i++) {
    if (ma[i] !== mb[i]) {
      return `${ma.length} vs ${mb.length} entries; first difference: src "${ma[i] ?? '(none)'}" dst "${mb[i] ?? '(none)'}"`;
    }
  }
  return null;
}

/**
 * Edits `fraction` of the files under root, chosen by `seed`: overwrites 32 bytes in place at a
 * random offset and appends 64 bytes. Identical trees + same seed => identical edits.
 */
export function editFraction(root, seed, fraction = 0.01) {
  const files = walk(root).filter((e) => e.type === 'f');
  const rng = prng(seed);
  const pool = new BytePool(`edit:${seed}`);
  const count = Math.max(1, Math.round(files.length * fraction));
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(rng() * (files.length - i));
    [files[i], files[j]] = [files[j], files[i]];
    const fd = fs.openSync(files[i].abs, 'r+');
    try {
      const size = fs.fstatSync(fd).size;
      fs.writeSync(fd, pool.take(32), 0, 32, Math.floor(rng() * Math.max(1, size - 32)));
      fs.writeSync(fd, pool.take(64), 0, 64, size);
    } finally {
      fs.closeSync(fd);
    }
  }
  return count;
}

/**
 * Inserts n random bytes (from `seed`) at `offset` of file, shifting the rest. Done in place, tail first,
 * so no blocks are freed (freeing 512 MiB would slow the next tool's run on this VM).
 */
export function insertBytes(file, offset, n, seed) {
  const fd = fs.openSync(file, 'r+');
  try {
    const buf = Buffer.allocUnsafe(8 * 1024 * 1024);
    for (let end = fs.fstatSync(fd).size; end > offset; ) {
      const start = Math.max(offset, end - buf.length);
      const got = fs.readSync(fd, buf, 0, end - start, start);
      fs.writeSync(fd, buf, 0, got, start + n);
      end = start;
    }
    fs.writeSync(fd, new BytePool(`insert:${seed}`).take(n), 0, n, offset);
  } finally {
    fs.closeSync(fd);
  }
}

/** `cp -a` (keeps mtimes, so every tool's copy looks identical to size+mtime checks). */
export function copyTree(src, dst) {
  const r = spawnSync('cp', ['-a', src, dst], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`cp -a ${src} ${dst} failed: ${r.stderr}`);
}

export function removeTree(path) {
  fs.rmSync(path, { recursive: true, force: true });
}

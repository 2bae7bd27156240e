import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A folder tree as an object: a string or Buffer is a file, `{ link }` a symlink, `{ content,
 * mode?, mtime? }` a file with attributes, and a nested object a directory.
 */
export type TreeSpec = { readonly [name: string]: TreeNode };
export type TreeNode =
  | string
  | Buffer
  | { readonly link: string }
  | { readonly content: string | Buffer; readonly mode?: number; readonly mtime?: number }
  | TreeSpec;

/** What readTree returns: path -> file content (utf8), `{ link }`, or '<dir>'. */
export type TreeValue = string | { readonly link: string };
export type TreeSnapshot = Record<string, TreeValue>;

export const DIR = '<dir>';
export const META = '.ferry';

function isLink(n: TreeNode): n is { readonly link: string } {
  return typeof n === 'object' && !Buffer.isBuffer(n) && typeof (n as { link?: unknown }).link === 'string';
}

function isFileSpec(
  n: TreeNode,
): n is { readonly content: string | Buffer; readonly mode?: number; readonly mtime?: number } {
  if (typeof n !== 'object' || Buffer.isBuffer(n)) return false;
  const c = (n as { content?: unknown }).content;
  return typeof c === 'string' || Buffer.isBuffer(c);
}

/** Writes `spec` under `root` (creating it), over whatever is there. */
export function writeTree(root: string, spec: TreeSpec): void {
  fs.mkdirSync(root, { recursive: true });
  for (const [name, node] of Object.entries(spec)) {
    const p = join(root, name);
    if (typeof node === 'string' || Buffer.isBuffer(node)) {
      fs.mkdirSync(join(p, '..'), { recursive: true });
      fs.writeFileSync(p, node);
    } else if (isLink(node)) {
      fs.mkdirSync(join(p, '..'), { recursive: true });
      fs.symlinkSync(node.link, p);
    } else if (isFileSpec(node)) {
      fs.mkdirSync(join(p, '..'), { recursive: true });
      fs.writeFileSync(p, node.content);
      if (node.mode !== undefined) fs.chmodSync(p, node.mode);
      if (node.mtime !== undefined) fs.utimesSync(p, node.mtime / 1000, node.mtime / 1000);
    } else {
      writeTree(p, node as TreeSpec);
    }
  }
}

export interface ReadOptions {
  /** Include the .ferry metadata folder at the top (default: excluded). */
  readonly includeMeta?: boolean;
  /** Report file contents as `sha256:<hex>` instead of text (for large or binary files). */
  readonly hash?: boolean;
}

/** Reads a tree back as path -> content | { link } | '<dir>', '/'-separated, sorted, without .ferry. */
export function readTree(root: string, opts: ReadOptions = {}): TreeSnapshot {
  const out: TreeSnapshot = {};
  const walk = (dir: string, rel: string): void => {
    const names = fs.readdirSync(dir).sort();
    for (const name of names) {
      if (rel === '' && name === META && !opts.includeMeta) continue;
      const abs = join(dir, name);
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = fs.lstatSync(abs);
      if (st.isSymbolicLink()) out[r] = { link: fs.readlinkSync(abs) };
      else if (st.isDirectory()) {
        out[r] = DIR;
        walk(abs, r);
      } else if (st.isFile()) {
        const data = fs.readFileSync(abs);
        out[r] = opts.hash ? `sha256:${sha256(data)}` : data.toString('utf8');
      } else out[r] = `<special>`;
    }
  };
  walk(root, '');
  return out;
}

/** Every path under `root` including .ferry, with size and mtime for files: detects any write. */
export function fingerprint(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!fs.existsSync(root)) return out;
  const walk = (dir: string, rel: string): void => {
    for (const raw of fs.readdirSync(dir, { encoding: 'buffer' }).sort(Buffer.compare)) {
      const name = raw.toString('latin1');
      const abs = Buffer.concat([Buffer.from(`${dir}/`), raw]).toString('latin1');
      const r = rel === '' ? name : `${rel}/${name}`;
      const absBuf = Buffer.from(abs, 'latin1');
      const st = fs.lstatSync(absBuf);
      if (st.isDirectory()) {
        out[r] = `dir ${st.mode & 0o7777}`;
        walk(abs, r);
      } else if (st.isSymbolicLink()) out[r] = `link ${fs.readlinkSync(absBuf, 'utf8')}`;
      else if (st.isFile())
        out[r] = `file ${st.mode & 0o7777} ${st.mtimeMs} ${st.ino} ${sha256(fs.readFileSync(absBuf))}`;
      else out[r] = 'special';
    }
  };
  walk(root, '');
  return out;
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Files kept in `<root>/.ferry/history`, as path-inside-the-run -> contents (several if kept twice). */
export function historyFiles(root: string): Record<string, string[]> {
  const base = join(root, META, 'history');
  const out: Record<string, string[]> = {};
  if (!fs.existsSync(base)) return out;
  for (const run of fs.readdirSync(base).sort()) {
    const snap = readTree(join(base, run), { includeMeta: true });
    for (const [p, v] of Object.entries(snap)) {
      if (typeof v !== 'string' || v === DIR) continue;
      const key = p.replace(/~\d+$/, '');
      out[key] = [...(out[key] ?? []), v];
    }
  }
  return out;
}

/** All file contents kept in history anywhere under `root`, flattened. */
export function historyContents(root: string): string[] {
  return Object.values(historyFiles(root)).flat();
}

/** Paths (relative to root) of conflict copies: `*.sync-conflict-YYYYMMDD-HHMMSS-<id>[-n][.ext]`. */
export const CONFLICT_RE = /\.sync-conflict-(\d{8})-(\d{6})-([a-z0-9]+)(?:-\d+)?(?:\.[^/]*)?$/;

export function conflictCopies(root: string): string[] {
  return Object.keys(readTree(root)).filter((p) => CONFLICT_RE.test(p));
}

/** A fresh temp folder for one test; `cleanup()` removes it (chmod-ing back anything made unreadable). */
export function tempDir(prefix: string): { readonly dir: string; cleanup(): void } {
  const dir = fs.mkdtempSync(join(tmpdir(), `ferry-it-${prefix}-`));
  return {
    dir,
    cleanup() {
      try {
        fs.rmSync(dir, { recursive: true, force: true });
      } catch {
        unlockTree(dir);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

function unlockTree(dir: string): void {
  try {
    fs.chmodSync(dir, 0o755);
    for (const e of fs.readdirSync(dir, { withFileTypes: true }))
      if (e.isDirectory()) unlockTree(join(dir, e.name));
  } catch {
    // best effort
  }
}

/** The single `.ferry/id` marker of a root. */
export function replicaId(root: string): string {
  return fs.readFileSync(join(root, META, 'id'), 'utf8').trim();
}

/** Bounded poll for a condition (no timing assertion: only how long we are willing to wait). */
export async function waitFor(cond: () => boolean, timeoutMs: number, stepMs = 2): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return cond();
}

/** A temp folder removed when the test ends (pass the node:test context). */
export function scratch(t: { after(fn: () => void): void }, prefix: string): string {
  const d = tempDir(prefix);
  t.after(() => d.cleanup());
  return d.dir;
}

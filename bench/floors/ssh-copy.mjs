// Floor for a first copy of a tree over ssh: a start of Node here, a walk that reads every file and
// takes its SHA-256 (the content id), and the files streamed through one ssh login to a Node on the
// far side that writes each to a temp file, sets mode and mtime and renames it into place. Files go
// as one stream of records (no requests, no round trips, no index, no fsync, no verification on
// the far side), so this is a lower bound for a copy by any tool written in Node.
//   node bench/floors/ssh-copy.mjs SSH [SSH_ARGS...] -- SRC HOST DST
// The far side runs this same file by its absolute path (`--receive DST`): in the bench the far host
// is this machine. No path may hold a blank or a quote (the bench's paths do not).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
// record: u32 path length, u32 data length, u32 mode, f64 mtime (ms), path bytes, data bytes
const HEAD = 20;

function* files(root, dir = root) {
  for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isDirectory()) yield* files(root, p);
    else if (d.isFile()) yield p;
  }
}

async function send(src, out) {
  const write = (b) => (out.write(b) ? null : new Promise((r) => out.once('drain', r)));
  for (const p of files(src)) {
    const st = fs.lstatSync(p);
    const data = fs.readFileSync(p);
    createHash('sha256').update(data).digest();
    const name = Buffer.from(relative(src, p));
    const head = Buffer.allocUnsafe(HEAD);
    head.writeUInt32LE(name.length, 0);
    head.writeUInt32LE(data.length, 4);
    head.writeUInt32LE(st.mode & 0o7777, 8);
    head.writeDoubleLE(st.mtimeMs, 12);
    const wait = write(Buffer.concat([head, name, data]));
    if (wait) await wait;
  }
  out.end();
}

function receive(dst) {
  const made = new Set();
  let pending = Buffer.alloc(0);
  let n = 0;
  process.stdin.on('data', (chunk) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    for (;;) {
      if (pending.length < HEAD) break;
      const nameLen = pending.readUInt32LE(0);
      const dataLen = pending.readUInt32LE(4);
      if (pending.length < HEAD + nameLen + dataLen) break;
      const mode = pending.readUInt32LE(8);
      const mtime = pending.readDoubleLE(12) / 1000;
      const path = join(dst, pending.subarray(HEAD, HEAD + nameLen).toString());
      const data = pending.subarray(HEAD + nameLen, HEAD + nameLen + dataLen);
      const dir = dirname(path);
      if (!made.has(dir)) {
        fs.mkdirSync(dir, { recursive: true });
        made.add(dir);
      }
      const tmp = `${path}.floor-${n++}.tmp`;
      fs.writeFileSync(tmp, data, { mode });
      fs.utimesSync(tmp, mtime, mtime);
      fs.renameSync(tmp, path);
      pending = pending.subarray(HEAD + nameLen + dataLen);
    }
  });
}

const argv = process.argv.slice(2);
if (argv[0] === '--receive') receive(argv[1]);
else {
  const cut = argv.indexOf('--');
  const [program, ...sshArgs] = argv.slice(0, cut);
  const [src, host, dst] = argv.slice(cut + 1);
  const child = spawn(program, [...sshArgs, host, `node ${self} --receive ${dst}`], {
    stdio: ['pipe', 'inherit', 'inherit'],
  });
  child.on('exit', (code) => process.exit(code ?? 1));
  await send(src, child.stdin);
}

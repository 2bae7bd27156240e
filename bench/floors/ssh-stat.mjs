// Floor for a no-op or small-edit run to a root over ssh: a start of Node here, one ssh login that
// starts Node on the far side and lstats every path of the far root, and meanwhile an lstat of every
// path of the local root. Nothing is compared, hashed or sent, so this is a lower bound for any tool
// written in Node that checks both roots (rsync needs no Node at either end).
//   node bench/floors/ssh-stat.mjs SSH [SSH_ARGS...] -- LOCAL_ROOT HOST REMOTE_ROOT
// The far side runs this repository's bench/floors/stat.mjs by the same absolute path: in the bench
// the far host is this machine. No path may hold a blank or a quote (the bench's paths do not).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { walk } from './stat.mjs';

const argv = process.argv.slice(2);
const cut = argv.indexOf('--');
const [program, ...sshArgs] = argv.slice(0, cut);
const [local, host, remote] = argv.slice(cut + 1);
const statScript = fileURLToPath(new URL('./stat.mjs', import.meta.url));
const child = spawn(program, [...sshArgs, host, `node ${statScript} ${remote}`], {
  stdio: ['ignore', 'inherit', 'inherit'],
});
walk(local);
child.on('exit', (code) => process.exit(code ?? 1));

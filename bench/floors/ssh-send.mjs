// Floor for a first copy of a large file over ssh: one SHA-256 pass over the file (its content id,
// which the plan needs before anything is sent), then the bytes through one ssh login into
// `cat >/dev/null` on the far side, exactly as the raw `cat | ssh` reference sends them. Nothing is
// verified or written on the far side, so this is a lower bound.
//   node bench/floors/ssh-send.mjs SSH [SSH_ARGS...] -- FILE HOST
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { hashFile } from './hash.mjs';

const argv = process.argv.slice(2);
const cut = argv.indexOf('--');
const [program, ...sshArgs] = argv.slice(0, cut);
const [file, host] = argv.slice(cut + 1);
hashFile(file);
const child = spawn(program, [...sshArgs, host, 'cat >/dev/null'], {
  stdio: [fs.openSync(file, 'r'), 'inherit', 'inherit'],
});
child.on('exit', (code) => process.exit(code ?? 1));

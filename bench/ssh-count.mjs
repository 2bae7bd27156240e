#!/usr/bin/env node
// A counting ssh: use it wherever a tool takes an ssh command (rsync -e, unison -sshcmd, ferry -e).
//   SSH_COUNT_FILE=FILE [SSH_COUNT_SSH=ssh] node bench/ssh-count.mjs [ssh arguments...]
// Runs the real ssh with the same arguments and relays stdin and stdout. It appends "start <pid>" to FILE
// when it starts and "<pid> <sent> <received>" when ssh has exited: bytes the tool wrote to ssh (to the
// remote side) and bytes ssh gave back, i.e. the payload both ways before ssh's own encryption and
// framing (what rsync --stats counts). stderr is passed through untouched and not counted. One pair of
// lines per ssh process (a tool may start several); the start line lets a reader wait for the end line of
// a wrapper that outlives its tool (unison exits without waiting for its ssh).
// The relay costs a Node start-up and one extra copy per byte, so the bench only uses it in untimed runs.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';

const out = process.env.SSH_COUNT_FILE;
if (!out) {
  process.stderr.write('ssh-count: set SSH_COUNT_FILE to the file that receives the byte counts\n');
  process.exit(255);
}

fs.appendFileSync(out, `start ${process.pid}\n`);
const child = spawn(process.env.SSH_COUNT_SSH || 'ssh', process.argv.slice(2), {
  stdio: ['pipe', 'pipe', 'inherit'],
});
let sent = 0;
let received = 0;

process.stdin.on('data', (b) => {
  sent += b.length;
});
process.stdin.pipe(child.stdin);
// A tool that closes its end first, or an ssh that is gone, must not kill the relay with EPIPE.
child.stdin.on('error', () => {});
process.stdin.on('error', () => {});
process.stdout.on('error', () => {});
child.stdout.on('data', (b) => {
  received += b.length;
});
child.stdout.pipe(process.stdout);

// Tools end ssh with SIGTERM (ferry) or SIGHUP/SIGINT: pass the signal on and wait for ssh to go.
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => child.kill(sig));

child.on('error', (e) => {
  process.stderr.write(`ssh-count: cannot run ssh: ${e.message}\n`);
  fs.appendFileSync(out, `${process.pid} ${sent} ${received}\n`);
  process.exit(255);
});
// 'close' comes after ssh's stdout has ended, so every received byte has been handed to our stdout.
child.on('close', (code, signal) => {
  fs.appendFileSync(out, `${process.pid} ${sent} ${received}\n`);
  const status = code ?? 128 + (signal ? (signalNumber(signal) ?? 1) : 1);
  process.stdout.write('', () => process.exit(status));
});

function signalNumber(name) {
  return { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGPIPE: 13, SIGTERM: 15 }[name];
}

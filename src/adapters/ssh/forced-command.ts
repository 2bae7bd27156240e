import { lstatSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { FerryError } from '../../core/errors.ts';
import { fromHex } from './remote-command.ts';

/**
 * `ferry serve --root DIR` as a forced command in authorized_keys (like rrsync): sshd hands over
 * what the client asked to run in SSH_ORIGINAL_COMMAND. It is tokenised here WITHOUT a shell and
 * only the exact shapes a ferry client sends are accepted; nothing from it is ever executed (the
 * script in `sh -c '…'` is ignored, only the hex path is taken).
 */

/** Bare words and single-quoted strings; any other shell syntax is refused. */
function tokenize(cmd: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < cmd.length) {
    if (cmd[i] === ' ' || cmd[i] === '\t') {
      i++;
      continue;
    }
    let word = '';
    while (i < cmd.length && cmd[i] !== ' ' && cmd[i] !== '\t') {
      const c = cmd[i] as string;
      if (c === "'") {
        const end = cmd.indexOf("'", i + 1);
        if (end < 0) throw refuse('an unterminated quote');
        word += cmd.slice(i + 1, end);
        i = end + 1;
      } else if (/[A-Za-z0-9_./:=@%+,-]/.test(c)) {
        word += c;
        i++;
      } else {
        throw refuse(`the character ${JSON.stringify(c)} outside quotes`);
      }
    }
    out.push(word);
  }
  return out;
}

function refuse(why: string): FerryError {
  return new FerryError('USAGE', `refused: the requested command has ${why}; this key only serves ferry`);
}

const HEX = /^(?:[0-9a-f]{2})+$/;
const PLAIN = /^[A-Za-z0-9.+-]+$/;

/** The path a ferry client asked for, from SSH_ORIGINAL_COMMAND; throws USAGE for anything else. */
export function requestedPath(original: string | undefined): string {
  if (original === undefined || original.trim() === '')
    throw new FerryError('USAGE', 'refused: this key only serves ferry (no command was requested)');
  if (original.length > 64 * 1024) throw refuse('an oversized command line');
  const t = tokenize(original);
  // What the ferry client sends: sh -c '<run script>' ferry HEXPATH VERSION HASH [HEXPROGRAM]
  if (t[0] === 'sh' && t[1] === '-c' && t.length >= 4) {
    if (t[3] === 'ferry-upload') throw refuse('an agent upload, which a forced command never needs');
    const [, , , name, hex, version, hash, program, ...rest] = t;
    const ok =
      name === 'ferry' &&
      hex !== undefined &&
      HEX.test(hex) &&
      version !== undefined &&
      PLAIN.test(version) &&
      hash !== undefined &&
      PLAIN.test(hash) &&
      (program === undefined || HEX.test(program)) &&
      rest.length === 0;
    if (!ok) throw refuse('an unexpected shape');
    return fromHex(hex);
  }
  // Or a direct call: ferry serve --stdio --path-hex HEX
  const [prog, serve, stdio, flag, hex, ...rest] = t;
  if (
    prog !== undefined &&
    path.basename(prog) === 'ferry' &&
    serve === 'serve' &&
    stdio === '--stdio' &&
    flag === '--path-hex' &&
    hex !== undefined &&
    HEX.test(hex) &&
    rest.length === 0
  )
    return fromHex(hex);
  throw refuse('an unexpected shape');
}

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** `~` and `~/x` against $HOME; other relative paths against `base`. */
export function expandPath(p: string, base: string): string {
  if (p === '~') return homedir();
  if (p.startsWith('~/')) return path.join(homedir(), p.slice(2));
  return path.resolve(base, p);
}

/**
 * The real absolute path of `requested` if it lies inside `root` (after resolving symlinks of the
 * part that exists), else a USAGE error. Relative paths are taken inside the root, as rrsync does.
 */
export function confine(root: string, requested: string): string {
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
  } catch (e) {
    throw new FerryError('USAGE', `ferry serve --root ${root}: ${(e as Error).message}`);
  }
  const abs = expandPath(requested, realRoot);
  const rest: string[] = [];
  let p = abs;
  while (!exists(p) && path.dirname(p) !== p) {
    rest.unshift(path.basename(p));
    p = path.dirname(p);
  }
  let real: string;
  try {
    real = path.join(realpathSync(p), ...rest);
  } catch {
    throw new FerryError('USAGE', `refused: ${JSON.stringify(requested)} cannot be resolved`);
  }
  if (real !== realRoot && !real.startsWith(`${realRoot}/`)) {
    throw new FerryError('USAGE', `refused: ${JSON.stringify(requested)} is outside ${realRoot}`);
  }
  return real;
}

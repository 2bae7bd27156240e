import { FerryError } from '../../core/errors.ts';

/**
 * The command lines ferry hands to a remote login shell. The login shell may be bash, dash, zsh,
 * fish, even (t)csh, and each quotes differently; so it only ever sees words of [a-z0-9.-] plus ONE
 * single-quoted POSIX sh script on one line that contains no single quote, no backslash and no
 * '!' (fish and csh treat those specially even inside single quotes). Paths and program names
 * travel hex-encoded as arguments; nothing a user typed is ever part of the script (I8).
 */

/** `exit` codes of the run script that are not the agent's own. */
export const EXIT_NO_NODE = 97;
export const EXIT_NEED_UPLOAD = 98;
export const EXIT_UPLOAD_BAD = 96;
/** Lines the scripts print to stderr for the client to recognise (never shown as they are). */
export const MARKER = 'ferry-agent:';

/**
 * Verifies a file's SHA-256 and node's major version in one node start, without any quote in the
 * JS: every string it needs arrives in argv. Exit 0 = good, 1 = missing or wrong hash, 3 = node
 * older than 20. Arguments: crypto fs sha256 FILE hex HASH .
 */
const VERIFY_JS =
  'a=process.argv;if(+process.versions.node.split(a[7])[0]<20)process.exit(3);' +
  'c=require(a[1]);f=require(a[2]);' +
  'try{process.exit(c.createHash(a[3]).update(f.readFileSync(a[4])).digest(a[5])==a[6]?0:1)}' +
  'catch(e){process.exit(1)}';
const verify = (file: string, hash: string) =>
  `node -e "${VERIFY_JS}" crypto fs sha256 "${file}" hex "${hash}" .`;

/**
 * The same check for the cached agent $a against $3, setting r, without a second node start on
 * every run (~70 ms here): `node --version` answers before node boots, coreutils sha256sum hashes
 * the 2 MB bundle in a few ms. Where sha256sum is missing, the one-node check above does both.
 */
const CHECK_CACHED =
  'if command -v sha256sum >/dev/null 2>&1; then ' +
  'case "$(node --version 2>/dev/null)" in v[2-9][0-9].*|v[1-9][0-9][0-9]*) ' +
  'case "$(sha256sum 2>/dev/null <"$a")" in "$3 "*) r=0;; *) r=1;; esac;; ' +
  '*) r=3;; esac; ' +
  `else ${verify('$a', '$3')} 2>/dev/null; r=$?; fi`;

/** Decodes the hex in $4 to bytes with awk (POSIX sh printf would need a backslash in the script). */
const UNHEX =
  'LC_ALL=C awk -v h="$4" -v d=0123456789abcdef -v f=%c ' +
  '"BEGIN{for(i=1;i<length(h);i+=2)printf(f,(index(d,substr(h,i,1))-1)*16+index(d,substr(h,i+1,1))-1)}"';

// biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, not a template
const CACHE = '${XDG_CACHE_HOME:-$HOME/.cache}/ferry/agent';

/**
 * Run script. $1 hex path, $2 version, $3 bundle SHA-256, $4 hex remote program (may be absent).
 * Order: a named program; `ferry` on PATH; the cached agent (verified); else exit 98 (upload) or
 * 97 with a marker when there is no usable node.
 */
export const RUN_SCRIPT = [
  `if [ -n "$4" ]; then r=$(${UNHEX}); exec "$r" serve --stdio --path-hex "$1"; fi`,
  'if command -v ferry >/dev/null 2>&1; then exec ferry serve --stdio --path-hex "$1"; fi',
  `if command -v node >/dev/null 2>&1; then :; else echo "${MARKER} no-node" >&2; exit ${EXIT_NO_NODE}; fi`,
  `a=${CACHE}/$2/ferry.mjs`,
  CHECK_CACHED,
  'if [ $r -eq 0 ]; then exec node "$a" serve --stdio --path-hex "$1"; fi',
  `if [ $r -eq 3 ]; then echo "${MARKER} old-node $(node --version 2>&1)" >&2; exit ${EXIT_NO_NODE}; fi`,
  `exit ${EXIT_NEED_UPLOAD}`,
].join('; ');

/**
 * Upload script, stdin = the bundle. $1 version, $2 SHA-256. Written to a temp name in the same
 * folder, verified, then renamed into place: a reader never sees a partial agent.
 */
export const UPLOAD_SCRIPT = [
  `d=${CACHE}/$1`,
  'mkdir -p "$d" || exit 1',
  't="$d/ferry.mjs.$$.tmp"',
  'cat > "$t" || { rm -f "$t"; exit 1; }',
  `${verify('$t', '$2')}; r=$?`,
  `if [ $r -ne 0 ]; then rm -f "$t"; echo "${MARKER} upload-bad $r" >&2; exit ${EXIT_UPLOAD_BAD}; fi`,
  'mv -f "$t" "$d/ferry.mjs"',
].join('; ');

for (const s of [RUN_SCRIPT, UPLOAD_SCRIPT]) {
  if (/['\\!\n]/.test(s))
    throw new FerryError('INTERNAL', 'internal error (a bug in ferry): unsafe remote script');
}

export function toHex(text: string): string {
  return Buffer.from(text, 'utf8').toString('hex');
}

export function fromHex(hex: string): string {
  if (!/^(?:[0-9a-f]{2})*$/.test(hex) || hex.length === 0)
    throw new FerryError('USAGE', 'the path must be given as a non-empty even-length lowercase hex string');
  return Buffer.from(hex, 'hex').toString('utf8');
}

/** Versions travel as a bare word: refuse anything that is not one. */
function safeWord(w: string, what: string): string {
  if (!/^[A-Za-z0-9.+-]+$/.test(w))
    throw new FerryError('INTERNAL', `internal error (a bug in ferry): ${what} '${w}' is not a plain word`);
  return w;
}

export interface RunCommandArgs {
  readonly path: string;
  readonly version: string;
  readonly hash: string;
  readonly remoteFerry?: string;
}

/** The remote command for the run script, one string as ssh wants it. */
export function runCommand(a: RunCommandArgs): string {
  const words = [toHex(a.path), safeWord(a.version, 'version'), safeWord(a.hash, 'hash')];
  if (a.remoteFerry !== undefined) words.push(toHex(a.remoteFerry));
  return `sh -c '${RUN_SCRIPT}' ferry ${words.join(' ')}`;
}

export function uploadCommand(version: string, hash: string): string {
  return `sh -c '${UPLOAD_SCRIPT}' ferry-upload ${safeWord(version, 'version')} ${safeWord(hash, 'hash')}`;
}

/**
 * Splits an `-e`/FERRY_RSH command like rsync does: on whitespace, honouring '…', "…" and
 * backslash escapes, so `ssh -F "/my cfg" -p 2222` works. Runs locally, never through a shell.
 */
export function splitCommand(cmd: string): string[] {
  const out: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < cmd.length; i++) {
    const c = cmd[i] as string;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < cmd.length) word += cmd[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < cmd.length) {
      word += cmd[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new FerryError('USAGE', `unterminated quote in the ssh command: ${cmd}`);
  if (inWord) out.push(word);
  if (out.length === 0) throw new FerryError('USAGE', 'the ssh command (-e/--ssh or FERRY_RSH) is empty');
  return out;
}

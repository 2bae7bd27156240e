import { Command, CommanderError, Option } from 'commander';
import { FerryError } from '../core/errors.ts';
import { EXIT, exitCodeFor } from './exit-codes.ts';
import { runServeCommand } from './serve-cmd.ts';
import { runStatus } from './status-cmd.ts';
import { runSyncCommand } from './sync-cmd.ts';

declare const FERRY_VERSION: string;
export const VERSION = typeof FERRY_VERSION === 'string' ? FERRY_VERSION : '0.0.0-dev';

function program(): Command {
  const p = new Command('ferry')
    .description('Keep folders in sync across local paths, losing nothing.')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .showHelpAfterError('(run ferry --help for usage)')
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  p.command('sync')
    .description('sync two or more roots (folders, or single files) in one run')
    .argument(
      '<roots...>',
      'two or more roots: local paths, [user@]host:path or ssh://[user@]host[:port]/path',
    )
    .option('-n, --dry-run', 'show what would change; write nothing')
    .option('-v, --verbose', 'list every change and each root')
    .option('-q, --quiet', 'print only problems and conflicts')
    .option('--json', 'one JSON event per line on stdout (schema in README)')
    .option('--no-progress', 'no progress bar even on a terminal')
    .option(
      '--exclude <pattern>',
      'ignore paths matching a .gitignore-style pattern (repeatable)',
      collect,
      [],
    )
    .addOption(
      new Option('--mode <mode>', 'sync: all roots equal; mirror: the first root is the source of truth')
        .choices(['sync', 'mirror'])
        .default('sync'),
    )
    .option('--conflict <rule>', 'keep-both | newest | prefer=ROOT', 'keep-both')
    .option('--force', 'allow a run that deletes more than half of a root')
    .option(
      '-e, --ssh <command>',
      'the ssh command for remote roots, like rsync -e (default: $FERRY_RSH or ssh)',
    )
    .option(
      '--remote-ferry <path>',
      'the ferry program to run on remote hosts (default: ferry, or an uploaded agent)',
    )
    .option(
      '--no-fsync',
      'skip the durability syncs: faster; a killed ferry still tears nothing, a power loss may',
    )
    .action(async (roots: string[], o) => {
      process.exitCode = await runSyncCommand(roots, o);
    });
  p.command('serve')
    .description('serve one root over stdin/stdout: the agent ferry runs on remote hosts over ssh')
    .argument('[path]', 'the root to serve (relative paths are taken from the home folder)')
    .option('--stdio', 'speak the ferry protocol on stdin/stdout')
    .option('--path-hex <hex>', 'the root, hex-encoded (what ferry sends over ssh)')
    .option('--root <dir>', 'forced-command mode: serve only inside DIR, path from SSH_ORIGINAL_COMMAND')
    .option('--read-only', 'refuse every write to the served root')
    .action(async (path: string | undefined, o) => {
      process.exitCode = await runServeCommand(path, o);
    });
  p.command('status')
    .description("show a root's replica id, last sync, peers, open conflicts and problems")
    .argument('<root>', 'a root synced by ferry: local path, [user@]host:path or ssh://...')
    .option('--json', 'print the report as JSON')
    .option('-e, --ssh <command>', 'the ssh command for a remote root (default: $FERRY_RSH or ssh)')
    .option('--remote-ferry <path>', 'the ferry program to run on the remote host')
    .action(async (root: string, o) => {
      process.exitCode = await runStatus(root, o);
    });
  return p;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    await program().parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (
        e.code === 'commander.helpDisplayed' ||
        e.code === 'commander.version' ||
        e.code === 'commander.help'
      )
        return EXIT.ok;
      return EXIT.usage;
    }
    printError(e);
    return exitCodeFor(e);
  }
}

export function printError(e: unknown): void {
  if (e instanceof FerryError) {
    process.stderr.write(`ferry: ${e.message}\n`);
    if (e.hint) process.stderr.write(`  hint: ${e.hint}\n`);
    return;
  }
  process.stderr.write(
    `ferry: internal error (a bug in ferry): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    printError(e);
    process.exitCode = EXIT.failure;
  },
);

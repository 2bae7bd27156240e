import { sync } from '../api/sync.ts';
import { FerryError } from '../core/errors.ts';
import type { SyncMode } from '../core/plan.ts';
import { escapeName } from './escape.ts';
import { EXIT, exitCodeFor } from './exit-codes.ts';
import { type RemoteFlags, remoteOptions } from './remote-flags.ts';
import { makeRenderer } from './render.ts';

export interface SyncFlags extends RemoteFlags {
  readonly dryRun?: boolean;
  readonly verbose?: boolean;
  readonly quiet?: boolean;
  readonly json?: boolean;
  readonly progress: boolean;
  readonly exclude: string[];
  readonly mode: SyncMode;
  readonly conflict: string;
  readonly force?: boolean;
  readonly fsync: boolean;
}

export async function runSyncCommand(roots: string[], f: SyncFlags): Promise<number> {
  const json = f.json ?? false;
  const render = makeRenderer(
    {
      json,
      verbose: f.verbose ?? false,
      quiet: f.quiet ?? false,
      progress: f.progress && !json && !f.quiet && process.stderr.isTTY === true,
      dryRun: f.dryRun ?? false,
    },
    { stdout: process.stdout, stderr: process.stderr, now: () => Date.now() },
  );
  try {
    const s = await sync(roots, {
      mode: f.mode,
      conflict: f.conflict,
      dryRun: f.dryRun ?? false,
      force: f.force ?? false,
      excludes: f.exclude,
      durable: f.fsync,
      remote: remoteOptions(f),
      onEvent: render,
    });
    return s.problems > 0 || s.conflicts > 0 ? EXIT.partial : EXIT.ok;
  } catch (e) {
    if (json) {
      const err =
        e instanceof FerryError
          ? { code: e.code, message: e.message, hint: e.hint }
          : { code: 'INTERNAL', message: String(e) };
      process.stdout.write(`${JSON.stringify({ type: 'error', ...err })}\n`);
    }
    if (!(e instanceof FerryError)) throw e;
    process.stderr.write(`ferry: ${escapeName(e.message)}\n`);
    if (e.hint) process.stderr.write(`  hint: ${e.hint}\n`);
    return exitCodeFor(e);
  }
}

/** -e/--ssh beats FERRY_RSH (as rsync's -e beats RSYNC_RSH); FERRY_LINK_TIMEOUT is in seconds. */

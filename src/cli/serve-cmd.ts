import { serve } from '../api/serve.ts';
import { FerryError } from '../core/errors.ts';
import { escapeName } from './escape.ts';
import { EXIT, exitCodeFor } from './exit-codes.ts';

export interface ServeFlags {
  readonly stdio?: boolean;
  readonly pathHex?: string;
  readonly root?: string;
  readonly readOnly?: boolean;
}

/**
 * `ferry serve`. stdout carries protocol frames only: every message goes to stderr, which ssh
 * relays to the client (it quotes the last line when the agent fails to start).
 */
export async function runServeCommand(path: string | undefined, f: ServeFlags): Promise<number> {
  try {
    if (!f.stdio && f.root === undefined)
      throw new FerryError('USAGE', 'ferry serve needs --stdio (or --root DIR as a forced ssh command)', {
        hint: 'ferry serve is started by ferry itself over ssh; you rarely run it by hand',
      });
    const original = process.env.SSH_ORIGINAL_COMMAND;
    await serve({
      ...(path === undefined ? {} : { path }),
      ...(f.pathHex === undefined ? {} : { pathHex: f.pathHex }),
      ...(f.root === undefined ? {} : { confineTo: f.root }),
      ...(f.root !== undefined && original !== undefined ? { originalCommand: original } : {}),
      readOnly: f.readOnly ?? false,
      input: process.stdin,
      output: process.stdout,
    });
    return EXIT.ok;
  } catch (e) {
    if (!(e instanceof FerryError)) throw e;
    process.stderr.write(`ferry serve: ${escapeName(e.message)}\n`);
    return exitCodeFor(e);
  } finally {
    process.stdin.destroy();
  }
}

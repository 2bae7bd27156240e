import { status } from '../api/status.ts';
import { FerryError } from '../core/errors.ts';
import { escapeName } from './escape.ts';
import { EXIT, exitCodeFor } from './exit-codes.ts';
import { type RemoteFlags, remoteOptions } from './remote-flags.ts';

export async function runStatus(root: string, o: { json?: boolean } & RemoteFlags): Promise<number> {
  try {
    const r = await status(root, remoteOptions(o));
    if (o.json) {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      return EXIT.ok;
    }
    const when = (ms: number | undefined) => (ms === undefined ? 'never' : new Date(ms).toISOString());
    const lines = [
      `root:      ${escapeName(r.root)}`,
      `replica:   ${r.replicaId ?? '(not a ferry replica yet)'}`,
      `last sync: ${when(r.lastSync)}`,
      `entries:   ${r.entries}`,
      `peers:     ${r.peers.length === 0 ? 'none' : ''}`,
      ...r.peers.map((p) => `  ${p.id}  ${escapeName(p.label)}  last sync ${when(p.lastSync)}`),
      `conflicts: ${r.conflicts.length === 0 ? 'none' : ''}`,
      ...r.conflicts.map(
        (c) =>
          `  ${escapeName(c.path)}  (losing version made by ${c.madeBy}${c.madeByLabel ? ` = ${escapeName(c.madeByLabel)}` : ''})`,
      ),
      `problems:  ${r.problems.length === 0 ? 'none' : ''}`,
      ...r.problems.map((p) => `  ${escapeName(p.path)}: ${p.message} [${p.code}]`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return EXIT.ok;
  } catch (e) {
    if (!(e instanceof FerryError)) throw e;
    process.stderr.write(`ferry: ${escapeName(e.message)}\n`);
    if (e.hint) process.stderr.write(`  hint: ${e.hint}\n`);
    return exitCodeFor(e);
  }
}

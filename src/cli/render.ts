import type { SyncEvent, SyncSummary } from '../engine/events.ts';
import { escapeName, formatBytes } from './escape.ts';
import { ProgressBar } from './progress.ts';

export interface RenderOptions {
  readonly json: boolean;
  readonly verbose: boolean;
  readonly quiet: boolean;
  readonly progress: boolean;
  readonly dryRun: boolean;
}

export interface Io {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  readonly now: () => number;
}

/** Turns run events into output: JSON lines, or text with an optional progress bar. */
export function makeRenderer(opts: RenderOptions, io: Io): (e: SyncEvent) => void {
  if (opts.json) return (e) => io.stdout.write(`${JSON.stringify(e)}\n`);
  const bar = opts.progress ? new ProgressBar(io.stderr, io.now) : undefined;
  const say = (s: string) => {
    bar?.clear();
    io.stdout.write(`${s}\n`);
  };
  const warn = (s: string) => {
    bar?.clear();
    io.stderr.write(`${s}\n`);
  };
  return (e) => {
    switch (e.type) {
      case 'start':
        for (const r of e.roots) {
          if (opts.verbose)
            say(`root ${escapeName(r.label)} (replica ${r.replicaId}${r.fresh ? ', new' : ''})`);
          if (r.rewound)
            warn(
              `note: ${escapeName(r.label)} is older than its peers have seen it (restored from a backup, or its .ferry copied); what changed there since is kept as conflicts, never overwritten`,
            );
        }
        return;
      case 'scanned':
        if (opts.verbose)
          say(`scanned ${escapeName(e.root)}: ${e.entries} entries, ${formatBytes(e.hashedBytes)} hashed`);
        return;
      case 'item':
        if (opts.verbose || opts.dryRun) say(itemLine(e));
        return;
      case 'progress':
        bar?.update(e.doneItems, e.totalItems, e.doneBytes, e.totalBytes);
        return;
      case 'conflict': {
        const c = e.conflict;
        const kept = c.keptAs === 'history' ? 'kept in .ferry/history' : `kept as ${escapeName(c.keptAs)}`;
        warn(
          `conflict: ${escapeName(c.path)}: changed on ${c.winnerMadeBy} and ${c.loserMadeBy}; ${c.winnerMadeBy}'s version keeps the name, the other is ${kept}`,
        );
        return;
      }
      case 'problem': {
        const p = e.problem;
        warn(
          `problem: ${p.root ? `${escapeName(p.root)}: ` : ''}${escapeName(p.path)}: ${p.message} [${p.code}]`,
        );
        return;
      }
      case 'plan':
        if (opts.verbose) say(`plan: ${e.items} changes, ${formatBytes(e.bytes)} to write`);
        return;
      case 'done':
        bar?.clear();
        if (!opts.quiet) say(summaryLine(e.summary));
        return;
    }
  };
}

function itemLine(e: Extract<SyncEvent, { type: 'item' }>): string {
  const what = e.action.padEnd(15);
  const to = e.to !== undefined ? ` -> ${escapeName(e.to)}` : '';
  const size = e.bytes !== undefined ? ` (${formatBytes(e.bytes)})` : '';
  return `${what} ${escapeName(e.root)}: ${escapeName(e.path)}${to}${size}`;
}

export function summaryLine(s: SyncSummary): string {
  const head = s.dryRun ? 'dry run, nothing written:' : `synced ${s.roots} roots:`;
  const parts = [
    `${s.copied} copied`,
    `${s.deleted} deleted`,
    `${s.conflicts} conflicts`,
    `${s.problems} problems`,
  ];
  const bytes = `${formatBytes(s.bytesTransferred)} sent, ${formatBytes(s.bytesReused)} reused`;
  // Only runs with a remote root have a wire; "reused" is then what the delta saved on it.
  const wire =
    s.bytesOnWire > 0
      ? `; ${formatBytes(s.bytesOnWire)} on the wire (${formatBytes(s.bytesOnWireSent)} out, ${formatBytes(s.bytesOnWireReceived)} in)`
      : '';
  const verdict = s.dryRun ? '' : s.inSync ? ' (all in sync)' : ' (see above)';
  return `${head} ${parts.join(', ')}; ${bytes}${wire}${verdict}`;
}

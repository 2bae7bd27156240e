import * as fs from 'node:fs';
import * as path from 'node:path';
import { hostRecordFor } from './replica-layout.ts';

/*
 * The highest generation (engine/generations.ts) this host has recorded for a replica, kept
 * outside the replica's root. A root put back from a backup, or copied with its .ferry, is then
 * caught by its own host at its next run, before a change made since is counted under version
 * counters its peers already hold; the peers' own knowledge (knownGens) catches only what they saw.
 * Best effort both ways: no record (another host, a read-only home) leaves just the peers' check.
 */

export function readHostGen(replicaId: string): number | undefined {
  try {
    const n = Number(fs.readFileSync(hostRecordFor(replicaId), 'utf8').trim());
    return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

export function writeHostGen(replicaId: string, gen: number): void {
  const file = hostRecordFor(replicaId);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(tmp, `${gen}\n`);
    fs.renameSync(tmp, file);
  } catch {
    fs.rmSync(tmp, { force: true });
  }
}

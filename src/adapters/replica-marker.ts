import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { idFromRandom } from '../core/ids.ts';

/** The marker (`<meta>/id`) names the replica a root holds (I5). */
export function readMarker(p: string): string | undefined {
  try {
    const id = fs.readFileSync(p, 'utf8').trim();
    return /^[a-z0-9]{1,32}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Written whole or not at all: temp file, fsync, rename. */
export function writeMarker(p: string, id: string): void {
  const tmp = `${p}.tmp`;
  fs.writeFileSync(tmp, `${id}\n`);
  const fd = fs.openSync(tmp, 'r');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.renameSync(tmp, p);
}

export function newReplicaId(): string {
  return idFromRandom(randomBytes(8));
}

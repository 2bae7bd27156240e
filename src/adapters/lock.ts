import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { FerryError } from '../core/errors.ts';

/**
 * One ferry per replica at a time. The lock file holds "pid host"; a lock left by a process that
 * no longer exists on this host (kill -9) is taken over, so an interrupted run never blocks the next.
 */
export function takeLock(lockPath: string, label: string): () => void {
  const me = `${process.pid} ${hostname()}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(lockPath, me, { flag: 'wx', mode: 0o644 });
      return () => {
        try {
          if (fs.readFileSync(lockPath, 'utf8') === me) fs.unlinkSync(lockPath);
        } catch {
          // already gone
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = readHolder(lockPath);
    if (holder && holder.host === hostname() && !alive(holder.pid)) {
      if (removeStale(lockPath, holder, me)) continue;
    }
    throw new FerryError(
      'LOCKED',
      `${label} is in use by another ferry (pid ${holder?.pid ?? '?'} on ${holder?.host ?? '?'})`,
      {
        hint: `wait for it to finish; if no ferry is running there, remove ${lockPath}`,
      },
    );
  }
  throw new FerryError('LOCKED', `could not take the lock ${lockPath}`);
}

/**
 * Removes a stale lock, one taker at a time. Without the guard, two ferries started together
 * could both see the dead holder, and the second could remove the lock the first had just
 * created: both would then run. With it, the taker re-reads the lock under the guard and removes
 * it only if it still names the dead holder. True: try to take the lock again; false: another
 * ferry is taking it over right now.
 */
function removeStale(lockPath: string, stale: { pid: number; host: string }, me: string): boolean {
  const guard = `${lockPath}.takeover`;
  try {
    fs.writeFileSync(guard, me, { flag: 'wx', mode: 0o644 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    // A guard left by a taker that died in those few microseconds is stale itself: remove it
    // and let the caller try again.
    const taker = readHolder(guard);
    if (!taker || taker.host !== hostname() || alive(taker.pid)) return false;
    fs.rmSync(guard, { force: true });
    return true;
  }
  try {
    const now = readHolder(lockPath);
    if (now?.pid === stale.pid && now.host === stale.host) fs.rmSync(lockPath, { force: true });
    return true;
  } finally {
    fs.rmSync(guard, { force: true });
  }
}

function readHolder(p: string): { pid: number; host: string } | undefined {
  try {
    const [pid, host] = fs.readFileSync(p, 'utf8').trim().split(' ');
    const n = Number(pid);
    return Number.isInteger(n) && host ? { pid: n, host } : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

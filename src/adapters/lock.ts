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
      fs.rmSync(lockPath, { force: true });
      continue;
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

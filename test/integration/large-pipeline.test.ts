import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ReadRequest, ReplicaPort } from '../../src/ports/replica.ts';
import { wrapPort } from '../helpers/ports.ts';
import { localReplica, syncPorts } from '../helpers/run.ts';
import { scratch } from '../helpers/tree.ts';

// A large file streams in windows (engine/write-files.ts): several are read ahead and several
// appends are in flight, in order, and memory stays bounded by those counts.

const MiB = 1 << 20;

const local = localReplica;

const tick = () => new Promise<void>((r) => setTimeout(r, 1));

/** The target with its appends slowed down and the most ever in flight at once counted. */
function countingTarget(port: ReplicaPort, seen: { inFlight: number; most: number; calls: number }) {
  return wrapPort(port, {
    appendWrite: async (path, pieces) => {
      seen.calls++;
      seen.most = Math.max(seen.most, ++seen.inFlight);
      try {
        await tick();
        return await port.appendWrite(path, pieces);
      } finally {
        seen.inFlight--;
      }
    },
  });
}

describe('a large file in windows', () => {
  it('lands whole, with bounded windows, reads ahead and appends in flight', async (t) => {
    const d = scratch(t, 'large-pipeline');
    const [A, B] = [join(d, 'A'), join(d, 'B')];
    fs.mkdirSync(A);
    fs.mkdirSync(B);
    const data = randomBytes(40 * MiB + 123);
    fs.writeFileSync(join(A, 'big.bin'), data);
    const reads: ReadRequest[][] = [];
    let readsInFlight = 0;
    let mostReads = 0;
    const source = local(A);
    const src = wrapPort(source, {
      read: async (reqs) => {
        reads.push([...reqs]);
        mostReads = Math.max(mostReads, ++readsInFlight);
        try {
          await tick();
          return await source.read(reqs);
        } finally {
          readsInFlight--;
        }
      },
    });
    const seen = { inFlight: 0, most: 0, calls: 0 };
    const summary = await syncPorts([src, countingTarget(local(B), seen)]);
    assert.equal(summary.problems, 0);
    assert.ok(fs.readFileSync(join(B, 'big.bin')).equals(data));
    const sizes = reads.map((r) => r.reduce((n, x) => n + x.length, 0));
    assert.equal(
      sizes.reduce((a, b) => a + b, 0),
      data.length,
    );
    // 2 MiB windows (a window ends before the chunk that would overflow it).
    assert.ok(Math.max(...sizes) <= 2 * MiB, `largest window ${Math.max(...sizes)}`);
    assert.ok(reads.length >= 20, `${reads.length} windows`);
    assert.ok(mostReads > 1 && mostReads <= 4, `${mostReads} reads at once`);
    assert.ok(seen.most > 2 && seen.most <= 8, `${seen.most} appends at once`);
  });

  it('a source failing midway stops the file: nothing lands, the problem is reported, later windows are not sent', async (t) => {
    const d = scratch(t, 'large-pipeline-fail');
    const [A, B] = [join(d, 'A'), join(d, 'B')];
    fs.mkdirSync(A);
    fs.mkdirSync(B);
    fs.writeFileSync(join(A, 'big.bin'), randomBytes(40 * MiB));
    let calls = 0;
    const source = local(A);
    const src = wrapPort(source, {
      read: async (reqs) => {
        calls++;
        if (calls !== 6) return source.read(reqs);
        await tick();
        return reqs.map((r) => ({
          ok: false as const,
          problem: { path: r.path, code: 'changed-during-sync' as const, message: 'changed' },
        }));
      },
    });
    const seen = { inFlight: 0, most: 0, calls: 0 };
    const summary = await syncPorts([src, countingTarget(local(B), seen)]);
    assert.equal(summary.problems, 1);
    assert.equal(fs.existsSync(join(B, 'big.bin')), false);
    // Windows 1-5 were sent; the failed sixth and any read ahead after it were not.
    assert.equal(seen.calls, 5);
  });
});

import assert from 'node:assert/strict';
import { createCipheriv, createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sha256 as sha256Hasher } from '../../src/adapters/node-fs.ts';
import { systemClock } from '../../src/adapters/system-clock.ts';
import { openReplicas } from '../../src/api/roots.ts';
import { ChunkHasher } from '../../src/chunking/chunk-hasher.ts';
import { FINE_CHUNK_PARAMS } from '../../src/chunking/fastcdc.ts';
import type { ChunkListReply, ChunkListRequest } from '../../src/ports/replica.ts';
import { doneSummary, runFerry } from '../helpers/cli.ts';
import { spyChunkLists } from '../helpers/ports.ts';
import { syncPorts } from '../helpers/run.ts';
import { useSshd } from '../helpers/sshd.ts';
import { scratch, sha256 } from '../helpers/tree.ts';

// Small files edited in place on a local root, synced to a root behind the test sshd: the edit of
// the ssh 1% benchmark (32 bytes overwritten, 64 appended). Only the fine chunks the remote lacks
// and its fine lists of the old versions should cross (engine/fine-delta.ts).

function out(r: { stdout: string; stderr: string }): string {
  return `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

/** Incompressible bytes, the same in every run. */
function bytesOf(size: number, seed: string): Buffer {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

function editInPlace(path: string, seed: string, append = true): Buffer {
  const old = fs.readFileSync(path);
  const next = append ? Buffer.concat([old, bytesOf(64, `${seed}:tail`)]) : Buffer.from(old);
  bytesOf(32, seed).copy(next, Math.floor(old.length * 0.6));
  fs.writeFileSync(path, next);
  return next;
}

/** 30 files of 2-60 KiB in two folders. */
function tree(root: string): string[] {
  const names = Array.from({ length: 30 }, (_, i) => `${i % 2 ? 'a' : 'b'}/f${i}.bin`);
  for (const d of ['a', 'b']) fs.mkdirSync(join(root, d), { recursive: true });
  names.forEach((n, i) => {
    fs.writeFileSync(join(root, n), bytesOf(2048 + i * 2000, n));
  });
  return names;
}

describe('small files edited in place, synced to a remote root', () => {
  const sshd = useSshd({ before, after });

  test('only the changed fine chunks and the old versions’ lists cross the link', async (t) => {
    const d = scratch(t, 'ssh-fine');
    const [A, B] = [join(d, 'A'), join(d, 'B')];
    const names = tree(A);
    const first = await runFerry(['sync', '--json', '-e', sshd.ssh, A, `hosta:${B}`]);
    assert.equal(first.code, 0, out(first));

    const edited = names.slice(0, 20).map((n) => ({ n, data: editInPlace(join(A, n), n) }));
    const total = edited.reduce((s, e) => s + e.data.length, 0);
    const r = await runFerry(['sync', '--json', '-e', sshd.ssh, A, `hosta:${B}`]);
    assert.equal(r.code, 0, out(r));
    for (const n of names)
      assert.equal(sha256(fs.readFileSync(join(B, n))), sha256(fs.readFileSync(join(A, n))), n);
    const s = doneSummary(r.stdout);
    assert.equal(s.copied, 20);
    assert.equal(s.bytesTransferred + s.bytesReused, total);
    // Each edit changes one or two fine chunks in the middle and the last one (at most 2 KiB each).
    assert.ok(s.bytesTransferred <= 20 * 3 * FINE_CHUNK_PARAMS.maxSize, `${s.bytesTransferred} sent`);
    // The whole run (hellos, the scan of 30 files, the lists, the writes) against 640 KB edited.
    assert.ok(s.bytesOnWire < total / 5, `${s.bytesOnWire} bytes on the wire for ${total} edited`);
  });

  test('a false match from the remote is refused by its whole-file check; the file is sent whole', async (t) => {
    const d = scratch(t, 'ssh-fine-false');
    const [A, B] = [join(d, 'A'), join(d, 'B')];
    tree(A);
    const first = await runFerry(['sync', '--json', '-e', sshd.ssh, A, `hosta:${B}`]);
    assert.equal(first.code, 0, out(first));

    // b/f0.bin keeps its size; the remote will claim it already holds every chunk of the new one.
    const forged = editInPlace(join(A, 'b/f0.bin'), 'forged', false);
    const honest = editInPlace(join(A, 'a/f1.bin'), 'honest');
    const claimed = new ChunkHasher(sha256Hasher, FINE_CHUNK_PARAMS);
    claimed.push(forged);
    const lie = claimed.end().map((c) => ({ size: c.size, hash: c.hash.slice(0, 8) }));
    const log: ChunkListRequest[][] = [];
    const [a, b] = openReplicas([A, `hosta:${B}`], systemClock, { ssh: sshd.ssh });
    assert.ok(a && b);
    const remote = spyChunkLists(b, log, (reply: ChunkListReply, req) =>
      req.path === 'b/f0.bin' ? { ok: true, chunks: lie } : reply,
    );
    const s = await syncPorts([a, remote]);
    assert.equal(s.problems, 0);
    assert.equal(s.copied, 2);
    assert.ok(fs.readFileSync(join(B, 'b/f0.bin')).equals(forged));
    assert.ok(fs.readFileSync(join(B, 'a/f1.bin')).equals(honest));
    assert.deepEqual(
      log
        .flat()
        .map((x) => x.path)
        .sort(),
      ['a/f1.bin', 'b/f0.bin'],
      'one list request for both files',
    );
    // The forged file: nothing sent the first time (all "found"), all of it the second time.
    assert.ok(s.bytesTransferred >= forged.length && s.bytesTransferred < forged.length + honest.length / 2);
    assert.equal(s.bytesReused, honest.length - (s.bytesTransferred - forged.length));
    assert.deepEqual(fs.readdirSync(join(B, '.ferry', 'tmp')), [], 'no temp file left behind');
    assert.deepEqual(fs.readdirSync(join(B, '.ferry', 'partial')), [], 'no partial left behind');
  });
});

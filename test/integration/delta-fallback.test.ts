import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sha256 } from '../../src/adapters/node-fs.ts';
import { ChunkHasher } from '../../src/chunking/chunk-hasher.ts';
import type { Chunk, Entry } from '../../src/core/entry.ts';
import type { SyncSummary } from '../../src/engine/events.ts';
import type { ReplicaPort, ScanResult } from '../../src/ports/replica.ts';
import { wrapPort } from '../helpers/ports.ts';
import { localReplica, syncPorts } from '../helpers/run.ts';
import { scratch } from '../helpers/tree.ts';

// Chunks are matched by an 8-byte hash prefix (src/engine/content.ts). These tests make a replica
// report chunk lists that collide with the content being sent, and check that the target's
// whole-file check refuses the assembly and the engine then sends every byte instead.

const MiB = 1 << 20;

const local = localReplica;

function chunksOf(data: Uint8Array): Chunk[] {
  const c = new ChunkHasher(sha256);
  c.push(data);
  return c.end();
}

/** The port with its scan result's entries rewritten (what a peer's lying or colliding list looks like). */
function rewriteScan(port: ReplicaPort, edit: (e: Entry) => Entry): ReplicaPort {
  return wrapPort(port, {
    scan: async (o): Promise<ScanResult> => {
      // Asked for a full scan, so that every entry it reports is one it rewrote.
      const { relativeTo: _sendAll, ...full } = o;
      const r = await port.scan(full);
      return { ...r, entries: r.entries.map(edit) };
    },
  });
}

const sync = (ports: readonly ReplicaPort[]): Promise<SyncSummary> => syncPorts(ports);

/** The chunk list a replica's index holds for a path (a dry scan reuses index records as they are). */
async function indexedChunks(root: string, path: string): Promise<readonly Chunk[] | undefined> {
  const r = local(root);
  try {
    await r.open({ create: false, readOnly: true });
    const { entries } = await r.scan({ ignore: [], dryRun: true });
    const e = entries.find((x) => x.path === path);
    return e?.kind === 'file' ? e.chunks : undefined;
  } finally {
    await r.close();
  }
}

describe('chunks matched by hash prefix', () => {
  it('a colliding match fails verification and the file is sent whole, in both write paths', async (t) => {
    const d = scratch(t, 'delta-collide');
    const [A, B] = [join(d, 'A'), join(d, 'B')];
    fs.mkdirSync(A);
    fs.mkdirSync(B);
    // Decoys on B: files of the right sizes whose reported chunk lists will claim the new content.
    const next = { 'f.bin': randomBytes(3 * MiB), 'g.bin': randomBytes(3 * MiB) };
    for (const [name, data] of Object.entries(next))
      fs.writeFileSync(join(B, `decoy-${name}`), randomBytes(data.length));
    fs.writeFileSync(join(A, 'f.bin'), randomBytes(MiB));
    fs.writeFileSync(join(A, 'g.bin'), randomBytes(MiB));
    assert.equal((await sync([local(A), local(B)])).problems, 0);
    const decoys = Object.fromEntries(
      ['f.bin', 'g.bin'].map((n) => [n, fs.readFileSync(join(B, `decoy-${n}`))]),
    );

    for (const [name, data] of Object.entries(next)) fs.writeFileSync(join(A, name), data);
    const claimed: Record<string, Chunk[]> = {
      // Every chunk of f.bin seems to be in its decoy: one local run, no byte to send.
      'decoy-f.bin': chunksOf(next['f.bin']).map((c) => ({ ...c, hash: c.hash.slice(0, 16) })),
      // All but the last chunk of g.bin: a run plus one streamed chunk.
      'decoy-g.bin': chunksOf(next['g.bin']).map((c, i, all) => ({
        size: c.size,
        hash: (i === all.length - 1 ? 'f'.repeat(64) : c.hash).slice(0, 16),
      })),
    };
    const lyingB = rewriteScan(local(B), (e) => {
      const chunks = claimed[e.path];
      return chunks && e.kind === 'file' ? { ...e, chunks } : e;
    });
    const s = await sync([local(A), lyingB]);

    assert.equal(s.problems, 0);
    assert.equal(s.copied, 2);
    for (const [name, data] of Object.entries(next)) {
      assert.ok(fs.readFileSync(join(B, name)).equals(data), `${name} arrived whole`);
      assert.ok(fs.readFileSync(join(B, `decoy-${name}`)).equals(decoys[name] as Buffer), 'decoy untouched');
    }
    const lastG = chunksOf(next['g.bin']).at(-1)?.size ?? 0;
    // Both files in full, plus g.bin's one chunk of the refused first attempt; nothing counts as reused.
    assert.equal(s.bytesTransferred, 6 * MiB + lastG);
    assert.equal(s.bytesReused, 0);
    assert.deepEqual(fs.readdirSync(join(B, '.ferry', 'tmp')), [], 'no temp file left behind');
  });

  it('a replica records the chunk list of its own bytes, never a list a peer sent', async (t) => {
    const d = scratch(t, 'delta-own');
    const [A, B] = [join(d, 'A'), join(d, 'B')];
    fs.mkdirSync(A);
    const data = randomBytes(2 * MiB + 12345);
    fs.writeFileSync(join(A, 'f.bin'), data);
    // Prefixes, as a peer behind a link sends them: the reads carry no hash to refuse them with.
    const lyingA = rewriteScan(local(A), (e) =>
      e.kind === 'file' && e.chunks
        ? { ...e, chunks: e.chunks.map((c) => ({ ...c, hash: 'e'.repeat(16) })) }
        : e,
    );
    assert.equal((await sync([lyingA, local(B)])).problems, 0);
    assert.ok(fs.readFileSync(join(B, 'f.bin')).equals(data));
    assert.deepEqual(await indexedChunks(B, 'f.bin'), chunksOf(data));

    // A rename on A: B copies its own file (whole-file match). A's list is one a replica in this
    // process computed (full hashes), so B may adopt it once the copy's SHA-256 matched.
    fs.renameSync(join(A, 'f.bin'), join(A, 'moved.bin'));
    const s = await sync([local(A), local(B)]);
    assert.equal(s.bytesTransferred, 0);
    assert.deepEqual(await indexedChunks(B, 'moved.bin'), chunksOf(data));
  });
});

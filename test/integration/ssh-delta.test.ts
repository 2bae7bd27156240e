import assert from 'node:assert/strict';
import { createCipheriv, createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chunkLengths } from '../../src/chunking/fastcdc.ts';
import { CHUNK_ROW } from '../../src/protocol/wire-entry.ts';
import { doneSummary, runFerry } from '../helpers/cli.ts';
import { useSshd } from '../helpers/sshd.ts';
import { scratch, sha256 } from '../helpers/tree.ts';

// The speed case, scaled to 64 MiB: 100 bytes inserted at offset 1000 of a big file on a
// remote root. What crosses, both ways with framing, must be the remote's chunk list in its binary
// form plus the chunks the edit changed (rsync needs ~103 KB here, ~290 KB at 512 MiB; ferry's
// figures are in the ARCHITECTURE remote-layer paragraph).

const SIZE = 64 << 20;

function out(r: { stdout: string; stderr: string }): string {
  return `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

/**
 * Incompressible bytes, the same in every run (AES-CTR keystream): the chunk boundaries, and so
 * the bytes an edit changes, do not vary between runs.
 */
function pseudoRandom(size: number, seed: string): Buffer {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

/** Chunks of `data` as (offset, length) keys, to find the bytes an edit really changed. */
function chunkSet(data: Buffer): { keys: Set<string>; count: number; lengths: number[] } {
  const lengths = chunkLengths(data);
  const keys = new Set<string>();
  let off = 0;
  for (const len of lengths) {
    keys.add(sha256(data.subarray(off, off + len)));
    off += len;
  }
  return { keys, count: lengths.length, lengths };
}

describe('a small edit in a big remote file', () => {
  const sshd = useSshd({ before, after });

  test('100 bytes inserted at offset 1000 of 64 MiB: only the chunk list and the changed chunks cross', async (t) => {
    const d = scratch(t, 'ssh-delta');
    const [A, B] = ['A', 'B'].map((n) => join(d, n)) as [string, string];
    fs.mkdirSync(A);
    const old = pseudoRandom(SIZE, 'old');
    fs.writeFileSync(join(A, 'big.bin'), old);
    const first = await runFerry(['sync', '--json', '-e', sshd.ssh, A, `hosta:${B}`]);
    assert.equal(first.code, 0, out(first));
    const s1 = doneSummary(first.stdout);
    assert.ok(s1.bytesOnWireSent > SIZE, 'the first copy sends the whole file');

    const edited = Buffer.concat([old.subarray(0, 1000), pseudoRandom(100, 'insert'), old.subarray(1000)]);
    fs.writeFileSync(join(A, 'big.bin'), edited);
    const r = await runFerry(['sync', '--json', '-e', sshd.ssh, A, `hosta:${B}`]);
    assert.equal(r.code, 0, out(r));
    assert.equal(sha256(fs.readFileSync(join(B, 'big.bin'))), sha256(edited));
    const s = doneSummary(r.stdout);

    // What has to cross: the remote's chunk list (one 12-byte row per chunk of its old file), the
    // new chunks it does not have, and a few small messages (hellos, scan metadata, the write's
    // pieces, finish, close) for which 16 KiB is ample.
    const before = chunkSet(old);
    const after = chunkSet(edited);
    let changed = 0;
    let off = 0;
    for (const len of after.lengths) {
      if (!before.keys.has(sha256(edited.subarray(off, off + len)))) changed += len;
      off += len;
    }
    assert.equal(s.bytesTransferred, changed, 'only the chunks the remote lacks are sent');
    assert.equal(s.bytesReused, edited.length - changed);
    const bound = before.count * CHUNK_ROW + changed + 16 * 1024;
    assert.ok(s.bytesOnWire <= bound, `${s.bytesOnWire} bytes on the wire, bound ${bound}`);
    assert.equal(s.bytesOnWire, s.bytesOnWireSent + s.bytesOnWireReceived);
    // Each way on its own: back comes little but the list, out goes little but the new chunks (no
    // chunk list in the write, one piece for each run of chunks the remote already has).
    assert.ok(
      s.bytesOnWireReceived <= before.count * CHUNK_ROW + 8 * 1024,
      `${s.bytesOnWireReceived} received`,
    );
    assert.ok(s.bytesOnWireSent <= changed + 8 * 1024, `${s.bytesOnWireSent} sent`);

    // The text summary names the wire traffic of a run with a remote root.
    const text = await runFerry(['sync', '-e', sshd.ssh, A, `hosta:${B}`]);
    assert.equal(text.code, 0, out(text));
    assert.match(text.stdout, /reused; [\d.]+ KiB on the wire \([\d.]+ (?:B|KiB) out, [\d.]+ (?:B|KiB) in\)/);
  });
});

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { describe, it } from 'node:test';
import { RemoteReplica } from '../../src/adapters/remote/rpc-client.ts';
import { serveReplica } from '../../src/adapters/remote/rpc-server.ts';
import { summaryLine } from '../../src/cli/render.ts';
import type { SyncEvent, SyncSummary } from '../../src/engine/events.ts';
import type { ReplicaPort } from '../../src/ports/replica.ts';
import { localReplica, syncPorts } from '../helpers/run.ts';
import { scratch, writeTree } from '../helpers/tree.ts';

/** A pipe that counts the bytes it carries (without reading ahead of its consumer). */
function countingPipe(): { readonly pipe: Transform; readonly bytes: () => number } {
  let n = 0;
  const pipe = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      cb(null, chunk);
    },
  });
  return { pipe, bytes: () => n };
}

const local = localReplica;

/** A local folder served over an in-process byte stream, exactly as an agent serves it over ssh. */
function remote(root: string) {
  const up = countingPipe();
  const down = countingPipe();
  const served = serveReplica(local(root), { input: up.pipe, output: down.pipe });
  const client = new RemoteReplica({ input: down.pipe, output: up.pipe }, { label: `far:${root}` });
  return { client, served, up, down };
}

const run = (ports: readonly ReplicaPort[], events: SyncEvent[]) => syncPorts(ports, (e) => events.push(e));

describe('bytes on the wire', () => {
  it('the link counts every frame both ways, hellos and the goodbye included', async (t) => {
    const d = scratch(t, 'wire-link');
    writeTree(join(d, 'r'), { 'a.txt': 'hello' });
    const { client, served, up, down } = remote(join(d, 'r'));
    await client.open({ create: true, readOnly: false });
    await client.scan({ ignore: [], dryRun: false });
    await client.close();
    await served;
    assert.ok(up.bytes() > 0 && down.bytes() > 0);
    assert.deepEqual(client.wireBytes(), { sent: up.bytes(), received: down.bytes() });
  });

  it('the done summary adds up the remote roots after they closed; local roots add nothing', async (t) => {
    const d = scratch(t, 'wire-sum');
    writeTree(join(d, 'a'), { 'f.txt': 'x'.repeat(5000), sub: { 'g.txt': 'g' } });
    const far = remote(join(d, 'b'));
    const events: SyncEvent[] = [];
    const s = await run([local(join(d, 'a')), far.client], events);
    await far.served;
    assert.equal(fs.readFileSync(join(d, 'b', 'f.txt'), 'utf8'), 'x'.repeat(5000));
    assert.equal(s.bytesOnWireSent, far.up.bytes());
    assert.equal(s.bytesOnWireReceived, far.down.bytes());
    assert.equal(s.bytesOnWire, far.up.bytes() + far.down.bytes());
    assert.ok(s.bytesOnWireSent > 5000, 'the file content crossed the link');
    const done = events.at(-1);
    assert.equal(done?.type, 'done');
    assert.deepEqual(done?.type === 'done' ? done.summary : undefined, s);

    const localOnly = await run([local(join(d, 'a')), local(join(d, 'c'))], []);
    assert.equal(localOnly.bytesOnWire, 0);
    assert.equal(localOnly.bytesOnWireSent + localOnly.bytesOnWireReceived, 0);
  });

  it('the text summary names the wire bytes and the reuse only when a link was used', () => {
    const base: SyncSummary = {
      roots: 2,
      copied: 1,
      deleted: 0,
      dirsMade: 0,
      conflicts: 0,
      problems: 0,
      bytesTransferred: 65536,
      bytesReused: 512 * 1024 * 1024,
      bytesOnWire: 0,
      bytesOnWireSent: 0,
      bytesOnWireReceived: 0,
      dryRun: false,
      inSync: true,
    };
    assert.equal(
      summaryLine(base),
      'synced 2 roots: 1 copied, 0 deleted, 0 conflicts, 0 problems; 64.0 KiB sent, 512.0 MiB reused (all in sync)',
    );
    assert.equal(
      summaryLine({
        ...base,
        bytesOnWire: 180 * 1024,
        bytesOnWireSent: 80 * 1024,
        bytesOnWireReceived: 100 * 1024,
      }),
      'synced 2 roots: 1 copied, 0 deleted, 0 conflicts, 0 problems; 64.0 KiB sent, 512.0 MiB reused; ' +
        '180.0 KiB on the wire (80.0 KiB out, 100.0 KiB in) (all in sync)',
    );
  });
});

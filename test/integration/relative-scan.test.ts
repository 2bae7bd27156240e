import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LocalReplica } from '../../src/adapters/local-replica.ts';
import { nodeFileSystem, sha256 } from '../../src/adapters/node-fs.ts';
import type { LiveEntry } from '../../src/core/entry.ts';
import type { SyncSummary } from '../../src/engine/events.ts';
import type { ScanOptions, ScanResult } from '../../src/ports/replica.ts';
import { doneSummary, runFerry } from '../helpers/cli.ts';
import { syncPorts } from '../helpers/run.ts';
import { useSshd } from '../helpers/sshd.ts';
import { readTree, replicaId, scratch, writeTree } from '../helpers/tree.ts';

// Relative scans (src/engine/baseline.ts): a replica opened exactly as the last converged run left
// it sends only the paths its scan changed; the engine rebuilds the rest from an in-process
// replica's scan and the entries its changed paths had before.

/** A local replica that remembers what it was asked and what it answered; `full` refuses relative scans. */
class Watched extends LocalReplica {
  asked: ScanOptions | undefined;
  answered: ScanResult | undefined;
  constructor(
    root: string,
    private readonly full = false,
  ) {
    super(
      root,
      { root, meta: join(root, '.ferry') },
      { fs: nodeFileSystem, newHasher: sha256, now: Date.now },
    );
  }
  override async scan(opts: ScanOptions): Promise<ScanResult> {
    const { relativeTo: _relative, priors: _priors, ...plain } = opts;
    this.asked = opts;
    this.answered = await super.scan(this.full ? plain : opts);
    return this.answered;
  }
}

const paths = (r: Watched) => (r.answered?.entries ?? []).map((e) => e.path).sort();

describe('relative scans', () => {
  test('a replica opened in the converged state sends only what its scan changed', async (t) => {
    const d = scratch(t, 'relative');
    const [A, B, C] = ['A', 'B', 'C'].map((n) => join(d, n)) as [string, string, string];
    writeTree(A, { 'a.txt': 'alpha', sub: { 'b.txt': 'bravo', 'c.txt': 'charlie' } });
    fs.mkdirSync(B);
    fs.mkdirSync(C);
    const run = async (): Promise<[Watched, Watched, Watched, SyncSummary]> => {
      const rs = [new Watched(A), new Watched(B), new Watched(C)] as const;
      const s = await syncPorts(rs);
      return [...rs, s];
    };
    let [a, b, c, s] = await run();
    assert.equal(b.asked?.relativeTo, undefined, 'nothing to be relative to before a converged run');
    assert.equal(s.copied, 6);

    [a, b, c, s] = await run();
    assert.equal(a.asked?.priors, true, 'the first in-process replica gives the converged state');
    assert.equal(a.answered?.relativeTo, undefined);
    assert.equal(a.answered?.entries.length, 4);
    for (const r of [b, c]) {
      assert.equal(r.answered?.relativeTo, r.asked?.relativeTo);
      assert.ok(r.answered?.relativeTo);
      assert.deepEqual(paths(r), [], 'an unchanged replica sends no entry');
    }
    assert.equal(s.copied + s.deleted, 0);

    fs.writeFileSync(join(B, 'sub', 'b.txt'), 'BRAVO, edited on B');
    fs.writeFileSync(join(C, 'new.txt'), 'new on C');
    fs.rmSync(join(A, 'a.txt'));
    [a, b, c, s] = await run();
    assert.deepEqual(paths(b), ['sub/b.txt'], 'the edited file (not its folder, whose stat moved)');
    assert.deepEqual(paths(c), ['new.txt']);
    assert.deepEqual(a.answered?.priors?.map((p) => p.path).sort(), ['a.txt']);
    assert.deepEqual([s.copied, s.deleted, s.conflicts, s.problems], [4, 2, 0, 0]);
    const want = {
      sub: '<dir>',
      'sub/b.txt': 'BRAVO, edited on B',
      'sub/c.txt': 'charlie',
      'new.txt': 'new on C',
    };
    for (const root of [A, B, C]) assert.deepEqual(readTree(root), want);
  });

  test('relative and full scans make the same runs (random edits on three replicas)', async (t) => {
    const d = scratch(t, 'relative-same');
    const stateHome = process.env.XDG_STATE_HOME;
    t.after(() => {
      if (stateHome === undefined) delete process.env.XDG_STATE_HOME;
      else process.env.XDG_STATE_HOME = stateHome;
    });
    const names = ['A', 'B', 'C'];
    const roots = (v: string) => names.map((n) => join(d, v, n));
    for (const root of roots('rel')) fs.mkdirSync(root, { recursive: true });
    writeTree(roots('rel')[0] as string, { 'seed.txt': 'seed' });
    await syncPorts(roots('rel').map((r) => new Watched(r)));
    // Same replica ids on both sides, so that conflict winners and copy names are the same too.
    execFileSync('cp', ['-a', join(d, 'rel'), join(d, 'full')]);

    // A small xorshift generator: the same edits in every CI run.
    let seed = 20261122;
    const rand = (n: number) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const files = ['f0.txt', 'f1.txt', 'd/f2.txt', 'd/f3.txt', 'd/e/f4.txt', 'g/f5.txt'];
    let relativeRuns = 0;
    const seen = { conflicts: 0, deleted: 0, copied: 0 };
    for (let round = 0; round < 12; round++) {
      const edits = Array.from({ length: 2 + rand(4) }, () => ({
        root: rand(3),
        file: files[rand(files.length)] as string,
        op: rand(4),
        text: `r${round}-${rand(1000)}`,
      }));
      const summaries: SyncSummary[] = [];
      for (const v of ['rel', 'full']) {
        for (const e of edits) edit(roots(v)[e.root] as string, e, round);
        const ports = roots(v).map((r) => new Watched(r, v === 'full'));
        // The two sets are copies with the same replica ids: each set is its own host here, or
        // each would take the other's runs for a later state of itself (engine/generations.ts).
        process.env.XDG_STATE_HOME = join(d, `state-${v}`);
        summaries.push(await syncPorts(ports));
        if (v === 'rel' && ports.some((p) => p.answered?.relativeTo)) relativeRuns++;
      }
      const [rel, full] = summaries as [SyncSummary, SyncSummary];
      const counts = (x: SyncSummary) => [x.copied, x.deleted, x.dirsMade, x.conflicts, x.problems];
      assert.deepEqual(counts(rel), counts(full), `round ${round}: same plan`);
      seen.conflicts += rel.conflicts;
      seen.deleted += rel.deleted;
      seen.copied += rel.copied;
      roots('rel').forEach((r, i) => {
        assert.deepEqual(readTree(r), readTree(roots('full')[i] as string), `round ${round}: same tree`);
      });
    }
    assert.ok(relativeRuns >= 6, `${relativeRuns} of 12 runs used relative scans`);
    // The rounds cover what the plan must agree on: copies, deletions and conflicts.
    assert.ok(seen.conflicts > 0 && seen.deleted > 0 && seen.copied > 0, JSON.stringify(seen));
  });

  test("an 'indexed' expectation holds only while the replica's own index has that entry", async (t) => {
    const d = scratch(t, 'indexed');
    const A = join(d, 'A');
    writeTree(A, { 'x.txt': 'x', 'y.txt': 'y', 'z.txt': 'z' });
    await syncPorts([new Watched(A), new Watched(join(d, 'B'))]);
    const r = new Watched(A);
    await r.open({ create: false, readOnly: false });
    try {
      const scan = await r.scan({ ignore: [], dryRun: false });
      const entry = (p: string) => scan.entries.find((e) => e.path === p) as LiveEntry & { kind: 'file' };
      const del = (e: LiveEntry, path = e.path) =>
        ({
          op: 'delete',
          path,
          entry: { kind: 'tombstone', path, vv: { z: 9 } },
          expect: { kind: 'indexed', entry: { ...e, path } },
        }) as const;
      const other = { ...entry('x.txt'), vv: { [replicaId(A)]: 7 } };
      fs.appendFileSync(join(A, 'z.txt'), ' changed after the scan');
      const replies = await r.apply([del(other), del(entry('y.txt')), del(entry('z.txt'))]);
      assert.deepEqual(
        replies.map((x) => (x.ok ? 'ok' : x.problem.code)),
        ['changed-during-sync', 'ok', 'changed-during-sync'],
      );
    } finally {
      await r.close();
    }
    assert.deepEqual(readTree(A), { 'x.txt': 'x', 'z.txt': 'z changed after the scan' });
  });
});

describe('relative scans over ssh', () => {
  const sshd = useSshd({ before, after });

  test('an unchanged remote sends no index: a no-op and a local edit receive a few hundred bytes', async (t) => {
    const d = scratch(t, 'relative-ssh');
    const [A, B] = ['A', 'B'].map((n) => join(d, n)) as [string, string];
    const tree: Record<string, Record<string, string>> = {};
    for (let i = 0; i < 20; i++) {
      tree[`d${i}`] = Object.fromEntries(
        Array.from({ length: 100 }, (_, k) => [`f${k}.txt`, `${i}/${k} `.repeat(20)]),
      );
    }
    writeTree(A, tree);
    const sync = async () => {
      const r = await runFerry(['sync', '--json', '-e', sshd.ssh, A, `hosta:${B}`]);
      assert.equal(r.code, 0, r.stderr);
      return doneSummary(r.stdout);
    };
    assert.equal((await sync()).copied, 2000);
    const noop = await sync();
    assert.equal(noop.copied, 0);
    // 2000 entries would be ~100 KB; hellos, open, scan tail and finish fit in 2 KiB.
    assert.ok(noop.bytesOnWireReceived < 2048, `no-op received ${noop.bytesOnWireReceived} B`);

    for (let i = 0; i < 20; i++) fs.appendFileSync(join(A, `d${i}`, 'f7.txt'), 'local edit');
    const local = await sync();
    assert.equal(local.copied, 20);
    assert.ok(local.bytesOnWireReceived < 4096, `local edit received ${local.bytesOnWireReceived} B`);
    assert.equal(fs.readFileSync(join(B, 'd3', 'f7.txt'), 'utf8'), `${'3/7 '.repeat(20)}local edit`);

    // A remote edit comes back as one changed entry, not the whole index.
    fs.writeFileSync(join(B, 'd5', 'f1.txt'), 'remote edit');
    const remote = await sync();
    assert.equal(remote.copied, 1);
    assert.ok(remote.bytesOnWireReceived < 4096, `remote edit received ${remote.bytesOnWireReceived} B`);
    assert.deepEqual(readTree(A), readTree(B));
  });
});

/** One random edit: write, delete, make a folder where a file may be, or touch without change. */
function edit(root: string, e: { file: string; op: number; text: string }, round: number): void {
  const abs = join(root, e.file);
  const mtime = new Date(Date.UTC(2026, 0, 1, 0, round, e.op));
  try {
    if (e.op === 0 || e.op === 1) {
      fs.mkdirSync(join(abs, '..'), { recursive: true });
      fs.writeFileSync(abs, e.text);
      fs.utimesSync(abs, mtime, mtime);
    } else if (e.op === 2) fs.rmSync(abs, { force: true });
    else if (fs.existsSync(abs)) fs.utimesSync(abs, mtime, mtime);
  } catch {
    // A file where a folder is wanted (or the reverse): this edit is skipped on both sides alike.
  }
}

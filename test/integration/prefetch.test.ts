import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { LocalReplica } from '../../src/adapters/local-replica.ts';
import { nodeFileSystem, sha256 as sha256Hasher } from '../../src/adapters/node-fs.ts';
import type { Entry } from '../../src/core/entry.ts';
import type { OpenInfo, OpenOptions, ScanResult } from '../../src/ports/replica.ts';
import { localReplica, syncPorts } from '../helpers/run.ts';
import { readTree, scratch, sha256, writeTree } from '../helpers/tree.ts';

// ReplicaPort.warm (scan/prefetch.ts): a local root looks at its tree early, while a run waits for
// roots behind links; its scan then takes what was seen. Real folders, real LocalReplicas.

/** A replica that looks at its tree as soon as it is open, then lets the test change it. */
class EditedAfterWarm extends LocalReplica {
  constructor(
    root: string,
    private readonly edit: () => void,
  ) {
    super(
      root,
      { root, meta: join(root, '.ferry') },
      { fs: nodeFileSystem, newHasher: sha256Hasher, now: Date.now },
    );
  }
  override async open(opts: OpenOptions): Promise<OpenInfo> {
    const info = await super.open(opts);
    await this.warm([]);
    this.edit();
    return info;
  }
}

const byPath = (s: ScanResult): Map<string, Entry> => new Map(s.entries.map((e) => [e.path, e]));

async function opened(root: string) {
  const r = localReplica(root);
  await r.open({ create: true, readOnly: false });
  return r;
}

test('a scan after warm gives exactly what a plain scan gives: new, changed, unchanged, ignored', async (t) => {
  const d = scratch(t, 'warm-same');
  const tree = {
    'keep.txt': 'unchanged',
    'edit.txt': 'before',
    docs: { 'a.md': 'a', deep: { 'b.md': 'b' } },
    logs: { 'x.log': 'ignored by a rule the warm does not know' },
  };
  writeTree(join(d, 'a'), tree);
  writeTree(join(d, 'b'), tree);
  // Index both once, then change both the same way.
  for (const root of ['a', 'b']) {
    const r = await opened(join(d, root));
    await r.scan({ ignore: [], dryRun: false });
    await r.close();
    fs.writeFileSync(join(d, root, 'edit.txt'), 'after, longer');
    fs.writeFileSync(join(d, root, 'docs', 'new.md'), 'new');
    fs.symlinkSync('docs/a.md', join(d, root, 'link'));
  }
  const plain = await opened(join(d, 'a'));
  const warmed = await opened(join(d, 'b'));
  await warmed.warm([]);
  const opts = { ignore: ['logs/'], dryRun: false };
  const [p, w] = [await plain.scan(opts), await warmed.scan(opts)];
  await Promise.all([plain.close(), warmed.close()]);
  const [pe, we] = [byPath(p), byPath(w)];
  assert.deepEqual([...we.keys()].sort(), [...pe.keys()].sort());
  assert.ok(!we.has('logs/x.log') && we.has('link') && we.has('docs/new.md'));
  for (const [path, e] of pe) {
    const o = we.get(path);
    assert.equal(o?.kind, e.kind, path);
    if (e.kind === 'file' && o?.kind === 'file') {
      assert.equal(o.hash, e.hash, path);
      assert.equal(o.size, e.size, path);
    }
  }
  assert.equal(w.hashedBytes, p.hashedBytes, 'the same files were hashed (once, early)');
  assert.deepEqual(w.problems, []);
});

test('a file changed between warm and scan is seen as it was, and the next scan finds the change', async (t) => {
  const d = scratch(t, 'warm-stale');
  writeTree(d, { 'f.txt': 'one' });
  const r = await opened(d);
  await r.warm([]);
  fs.writeFileSync(join(d, 'f.txt'), 'two, changed after the early look');
  const first = byPath(await r.scan({ ignore: [], dryRun: false })).get('f.txt');
  assert.equal(first?.kind === 'file' ? first.hash : undefined, sha256('one'), 'as seen by the early look');
  const again = byPath(await r.scan({ ignore: [], dryRun: false })).get('f.txt');
  assert.equal(again?.kind === 'file' ? again.hash : undefined, sha256('two, changed after the early look'));
  await r.close();
});

test('a write planned from the early look is refused when the target changed since (I4)', async (t) => {
  const d = scratch(t, 'warm-i4');
  const [A, B] = [join(d, 'A'), join(d, 'B')];
  writeTree(A, { 'f.txt': 'v1' });
  await syncPorts([localReplica(A), localReplica(B)]);
  fs.writeFileSync(join(A, 'f.txt'), 'v2 from A');
  // B is looked at early (as when another root is behind a link), then edited before the run scans.
  const warmed = new EditedAfterWarm(B, () =>
    fs.writeFileSync(join(B, 'f.txt'), 'v2 from B, after the early look'),
  );
  const summary = await syncPorts([localReplica(A), warmed]);
  assert.equal(summary.problems, 1, 'the replace of f.txt on B was left alone');
  assert.equal(fs.readFileSync(join(B, 'f.txt'), 'utf8'), 'v2 from B, after the early look');
  // The next run sees both edits: a conflict, both kept.
  await syncPorts([localReplica(A), localReplica(B)]);
  const files = Object.values(readTree(B));
  assert.ok(files.includes('v2 from A') && files.includes('v2 from B, after the early look'));
});

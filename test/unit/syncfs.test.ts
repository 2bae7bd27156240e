import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { syncfs } from '../../src/adapters/syncfs.ts';

test('syncfs answers concurrent and repeated calls, and an idle helper does not keep node running', async () => {
  const dir = fs.mkdtempSync(join(tmpdir(), 'ferry-syncfs-'));
  try {
    fs.writeFileSync(join(dir, 'f'), 'x');
    await Promise.all([syncfs(dir), syncfs(dir), syncfs(dir)]);
    await syncfs(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  // A fresh node that syncs once must exit by itself right after (the helper shell is unref'd).
  const src = new URL('../../src/adapters/syncfs.ts', import.meta.url).pathname;
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      `import(${JSON.stringify(src)}).then((m) => m.syncfs('/tmp')).then(() => console.log('synced'))`,
    ],
    { encoding: 'utf8', timeout: 20_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'synced');
});

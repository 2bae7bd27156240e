import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const MODULE = fileURLToPath(new URL('../../src/adapters/heap-budget.ts', import.meta.url));

describe('heap budget for large applies', () => {
  it('leaves small plans alone and applies its V8 settings at run time for large ones', () => {
    // In a child process: the settings are process-wide. `gc` reachable from a fresh context
    // shows that flags set after start-up took effect (it is set together with the growth cap).
    const script = `
      import { runInNewContext } from 'node:vm';
      const { tightenHeapForLargeApply } = await import(${JSON.stringify(MODULE)});
      tightenHeapForLargeApply(19_999);
      const small = runInNewContext('typeof gc');
      tightenHeapForLargeApply(20_000);
      const large = runInNewContext('typeof gc');
      tightenHeapForLargeApply(50_000);
      console.log(JSON.stringify({ small, large }));
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim()), { small: 'undefined', large: 'function' });
  });
});

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Plans from this many actions get the tighter heap; a 10k-file copy keeps V8's defaults. */
const LARGE_PLAN = 20_000;
/** Old-generation growth per GC cycle, instead of V8's up to 4x on a machine with plenty of RAM. */
const GROWTH_PERCENT = 30;

let tightened = false;

/**
 * Before a large apply: one full GC, then old-generation growth capped at 30% per cycle.
 *
 * Why: a batch's per-file objects outlive a few scavenges, so writing 100k files promotes ~1.4 KB
 * of garbage per file, and V8 (which sizes its growth by the machine's RAM) let the heap reach
 * ~2.5x the ~120 MB live before collecting: 400-460 MB peak on the 100k-file bench, over its
 * 300 MB budget. With this: ~285 MB, for one ~60 ms GC and a few more old-generation cycles
 * during the copy. Small runs and no-op re-runs never get here, so they keep V8's faster defaults.
 *
 * Both flags are read by V8 at each GC, so setting them at run time takes effect at the next one;
 * the GC function comes from a fresh context, the documented way to reach it after start-up.
 */
export function tightenHeapForLargeApply(actions: number): void {
  if (tightened || actions < LARGE_PLAN) return;
  tightened = true;
  setFlagsFromString(`--heap-growing-percent=${GROWTH_PERCENT}`);
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('gc');
  if (typeof gc === 'function') gc();
}

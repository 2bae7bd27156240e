import { formatBytes, formatDuration } from './escape.ts';

/**
 * A one-line progress bar on stderr (files, bytes, rate, ETA), redrawn at most every 100 ms.
 * Only used when stderr is a terminal; piped output never sees it.
 */
export class ProgressBar {
  private last = 0;
  private readonly started: number;
  private drawn = false;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly now: () => number,
  ) {
    this.started = now();
  }

  update(doneItems: number, totalItems: number, doneBytes: number, totalBytes: number): void {
    const t = this.now();
    if (t - this.last < 100 && doneItems < totalItems) return;
    this.last = t;
    const secs = Math.max((t - this.started) / 1000, 0.001);
    const rate = doneBytes / secs;
    const eta = rate > 0 ? (totalBytes - doneBytes) / rate : Number.NaN;
    const share = totalBytes > 0 ? doneBytes / totalBytes : totalItems > 0 ? doneItems / totalItems : 1;
    const width = 24;
    const fill = Math.min(width, Math.round(share * width));
    const bar = `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}]`;
    const line = `${bar} ${doneItems}/${totalItems} files  ${formatBytes(doneBytes)}/${formatBytes(totalBytes)}  ${formatBytes(rate)}/s  ETA ${formatDuration(eta)}`;
    this.out.write(`\r${line.slice(0, (this.out.columns || 100) - 1)}\x1b[K`);
    this.drawn = true;
  }

  clear(): void {
    if (this.drawn) this.out.write('\r\x1b[K');
    this.drawn = false;
  }
}

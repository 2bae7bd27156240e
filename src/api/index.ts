/** ferry's public library API: one module per operation. */
export { FerryError } from '../core/errors.ts';
export type { SyncEvent, SyncSummary } from '../engine/events.ts';
export { type StatusReport, status } from './status.ts';
export { type SyncOptions, sync } from './sync.ts';

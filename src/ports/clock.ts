/** Time comes from here, never from Date.now() inside engine code, so tests can fix it. */
export interface Clock {
  now(): number; // ms since the epoch
}

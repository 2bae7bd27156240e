import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FerryError } from '../../core/errors.ts';

declare const FERRY_VERSION: string;
/** package.json's version, baked in by scripts/build.mjs; names the remote agent cache folder. */
export const AGENT_VERSION = typeof FERRY_VERSION === 'string' ? FERRY_VERSION : '0.0.0-dev';

export interface AgentBundle {
  readonly path: string;
  readonly bytes: Buffer;
  /** SHA-256 hex of the bytes: checked on the far side before the agent is ever run. */
  readonly hash: string;
}

let cached: AgentBundle | undefined;

/**
 * The single-file bundle that is this very program (dist/ferry.mjs is both CLI and agent).
 * FERRY_AGENT_BUNDLE overrides it; running from source falls back to the built dist/ferry.mjs.
 */
export function agentBundle(): AgentBundle {
  if (cached) return cached;
  const self = fileURLToPath(import.meta.url);
  const candidates = [
    process.env.FERRY_AGENT_BUNDLE,
    self.endsWith('.mjs') ? self : undefined,
    join(dirname(self), '..', '..', '..', 'dist', 'ferry.mjs'),
  ].filter((p): p is string => p !== undefined && p !== '');
  const path = candidates.find((p) => existsSync(p));
  if (path === undefined) {
    throw new FerryError('INTERNAL', 'cannot find ferry’s own agent bundle (dist/ferry.mjs) to upload', {
      hint: 'run `npm run build`, or install ferry on the remote host',
    });
  }
  const bytes = readFileSync(path);
  cached = { path, bytes, hash: createHash('sha256').update(bytes).digest('hex') };
  return cached;
}

import type { RemoteOptions } from '../api/roots.ts';

/** The flags every command that can reach a remote root shares. */
export interface RemoteFlags {
  readonly ssh?: string;
  readonly remoteFerry?: string;
}

/** `-e/--ssh`, else $FERRY_RSH; `--remote-ferry`; $FERRY_LINK_TIMEOUT (seconds). */
export function remoteOptions(f: RemoteFlags): RemoteOptions {
  const ssh = f.ssh ?? (process.env.FERRY_RSH || undefined);
  const secs = Number(process.env.FERRY_LINK_TIMEOUT);
  return {
    ...(ssh === undefined ? {} : { ssh }),
    ...(f.remoteFerry === undefined ? {} : { remoteFerry: f.remoteFerry }),
    ...(secs > 0 ? { linkTimeoutMs: secs * 1000 } : {}),
  };
}

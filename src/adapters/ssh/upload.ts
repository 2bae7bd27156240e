import { FerryError } from '../../core/errors.ts';
import { AGENT_VERSION, agentBundle } from './bundle.ts';
import { uploadCommand } from './remote-command.ts';
import { type SshTarget, sshArgv, startSsh } from './ssh-process.ts';

/** One upload per host and ssh command per process, however many roots live there. */
const uploads = new Map<string, Promise<void>>();

/**
 * Copies this program's own bundle into the remote user's cache
 * (`${XDG_CACHE_HOME:-~/.cache}/ferry/agent/<version>/ferry.mjs`). The far side writes a temp
 * file, checks its SHA-256 and renames it into place, so a cut upload leaves nothing runnable.
 */
export function uploadAgent(t: SshTarget, label: string): Promise<void> {
  const key = JSON.stringify(sshArgv(t, ''));
  let p = uploads.get(key);
  if (p === undefined) {
    p = upload(t, label);
    uploads.set(key, p);
    // A failed upload may be retried by a later run in the same process (library use).
    p.catch(() => uploads.delete(key));
  }
  return p;
}

async function upload(t: SshTarget, label: string): Promise<void> {
  const bundle = agentBundle();
  const ssh = startSsh(t, uploadCommand(AGENT_VERSION, bundle.hash));
  ssh.child.stdin.end(bundle.bytes);
  const exit = await ssh.exited;
  if (exit.code === 0) return;
  const last = ssh.stderr.last();
  const marker = ssh.stderr.marker();
  const why = marker?.startsWith('upload-bad')
    ? 'the copy that arrived does not match its SHA-256'
    : (last ?? (exit.signal ? `ssh was killed by ${exit.signal}` : `exit code ${exit.code}`));
  throw new FerryError('TRANSPORT', `${label}: could not upload the ferry agent to ${t.host}: ${why}`, {
    hint: 'install ferry on that host, or check its free space and the permissions of ~/.cache',
  });
}

import { FerryError } from '../core/errors.ts';
import { type Hello, PROTOCOL_NAME, PROTOCOL_VERSION } from './messages.ts';

/**
 * Both sides send `hello` before anything else and check the other's. The shape of `hello` is
 * frozen across versions ({type, protocol, version, software}) so that any two ferry releases can
 * at least tell each other which versions they speak.
 */
export function makeHello(software: string, version: number = PROTOCOL_VERSION): Hello {
  return { type: 'hello', protocol: PROTOCOL_NAME, version, software };
}

export interface HelloCheck {
  /** How to name the peer in the message: 'the agent at host:path' or 'the client'. */
  readonly peer: string;
  readonly ours?: number;
}

/** Pure: the error to report when the peer's hello does not match ours, or undefined when it does. */
export function checkHello(theirs: Hello, opts: HelloCheck): FerryError | undefined {
  const ours = opts.ours ?? PROTOCOL_VERSION;
  if (theirs.version === ours) return undefined;
  return new FerryError(
    'PROTOCOL',
    `protocol version mismatch: this ferry speaks version ${ours}, ${opts.peer} speaks version ` +
      `${theirs.version} (${theirs.software}); install the same ferry version on both sides`,
  );
}

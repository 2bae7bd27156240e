#!/usr/bin/env node
// A scripted ferry agent for tests, run on the "remote" side with `ferry sync --remote-ferry
// <this file>`. It speaks the wire format by hand (u32 length + msgpack) and misbehaves on purpose.
// The behaviour is the last component of the served path (`hosta:/tmp/x/<mode>`):
//   version99  says hello with protocol version 99, then waits
//   escape     a correct hello and open, then a scan result holding the path ../escape
//   bigframe   a correct hello, then a frame header announcing almost 4 GiB
//   stall      a correct hello, then never answers a request
// It exits when its input ends, like the real agent.
import { Packr } from 'msgpackr';

const packr = new Packr({
  useRecords: false,
  moreTypes: false,
  structuredClone: false,
  mapsAsObjects: true,
  encodeUndefinedAsNil: true,
  bundleStrings: false,
});

const args = process.argv.slice(2);
const hex = args[args.indexOf('--path-hex') + 1] ?? '';
const mode = Buffer.from(hex, 'hex').toString('utf8').split('/').pop();

function send(msg) {
  const payload = packr.pack(msg);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(payload.length, 0);
  process.stdout.write(Buffer.concat([head, payload]));
}

const hello = (version) => ({ type: 'hello', protocol: 'ferry', version, software: 'fake-agent 9.9' });
const ok = (req, result) => send({ type: 'res', id: req.id, method: req.method, ok: true, result });
const ID = 'fakeagnt';

function answer(req) {
  if (mode === 'stall') return;
  if (mode === 'bigframe') {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(0xfffffff0, 0);
    process.stdout.write(head);
    return;
  }
  switch (req.method) {
    case 'open':
      return ok(req, { replicaId: ID, exists: true, fresh: false, peers: {}, singleFile: false });
    case 'readIgnoreFile':
      return ok(req, undefined);
    case 'scan':
      return ok(req, {
        entries: [
          {
            kind: 'file',
            path: '../escape',
            vv: { [ID]: 1 },
            size: 5,
            mtime: 1700000000000,
            exec: false,
            hash: Buffer.alloc(32, 0xaa),
          },
        ],
        stats: [null],
        problems: [],
        unseen: [],
        hashedBytes: 0,
      });
    case 'close':
      return ok(req, undefined);
    default:
      return send({
        type: 'res',
        id: req.id,
        method: req.method,
        ok: false,
        error: { code: 'INTERNAL', message: `fake agent: no ${req.method}` },
      });
  }
}

if (!['version99', 'escape', 'bigframe', 'stall'].includes(mode)) {
  process.stderr.write(`fake-agent: unknown mode ${mode}\n`);
  process.exit(2);
}
// Protocol version 4 (src/protocol/messages.ts; keep in step): SHA-256 values travel as 32 bytes.
send(hello(mode === 'version99' ? 99 : 4));

let buf = Buffer.alloc(0);
process.stdin.on('data', (chunk) => {
  buf = Buffer.concat([buf, chunk]);
  while (buf.length >= 4) {
    const len = buf.readUInt32BE(0);
    if (buf.length < 4 + len) break;
    const msg = packr.unpack(buf.subarray(4, 4 + len));
    buf = buf.subarray(4 + len);
    if (msg.type === 'req') answer(msg);
  }
});
process.stdin.on('end', () => process.exit(0));

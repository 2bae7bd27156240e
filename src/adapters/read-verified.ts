import { digestOf, type FileSystem, type HasherFactory } from '../ports/filesystem.ts';
import type { ReadReply, ReadRequest } from '../ports/replica.ts';

/**
 * Reads a byte range and proves it is the content the scan saw (same SHA-256). The bytes go into
 * `into` (r.length bytes) when given, else into a fresh buffer.
 */
export async function verifyRead(
  fs: FileSystem,
  newHasher: HasherFactory,
  root: string,
  r: ReadRequest,
  into?: Uint8Array,
): Promise<ReadReply> {
  let data: Uint8Array;
  try {
    const h = await fs.openRead(`${root}/${r.path}`);
    try {
      data = await h.read(r.offset, r.length, into);
    } finally {
      await h.close();
    }
  } catch (e) {
    return {
      ok: false,
      problem: {
        path: r.path,
        code: 'unreadable',
        message: `cannot read source: ${e instanceof Error ? e.message : String(e)}`,
      },
    };
  }
  if (data.length !== r.length || (r.hash !== undefined && digestOf(newHasher, data) !== r.hash)) {
    return {
      ok: false,
      problem: {
        path: r.path,
        code: 'changed-during-sync',
        message: 'source changed since it was scanned; it will be synced next run',
      },
    };
  }
  return { ok: true, data };
}

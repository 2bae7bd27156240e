import { ChunkHasher } from '../chunking/chunk-hasher.ts';
import { FINE_CHUNK_PARAMS } from '../chunking/fastcdc.ts';
import type { Problem } from '../core/problem.ts';
import type { FileSystem, HasherFactory } from '../ports/filesystem.ts';
import { CHUNK_LIST_MAX_FILE, type ChunkListReply, type ChunkListRequest } from '../ports/replica.ts';

/**
 * One file's fine chunk list, cut from its bytes as they are now (ReplicaPort.chunkLists). The
 * whole file is read (it is small) and must still have the requested SHA-256; a file that is not
 * a regular file (a symlink, a FIFO that would block the read) or is too large gets a problem.
 */
export async function fineChunkList(
  fs: FileSystem,
  newHasher: HasherFactory,
  root: string,
  req: ChunkListRequest,
): Promise<ChunkListReply> {
  const abs = `${root}/${req.path}`;
  let data: Uint8Array;
  try {
    const st = fs.lstatIfExists(abs);
    if (st?.kind !== 'file' || st.size > CHUNK_LIST_MAX_FILE) return changed(req.path);
    const h = await fs.openRead(abs);
    try {
      data = await h.read(0, st.size);
    } finally {
      await h.close();
    }
  } catch (e) {
    return fail({
      path: req.path,
      code: 'unreadable',
      message: `cannot read for a chunk list: ${e instanceof Error ? e.message : String(e)}`,
    });
  }
  const whole = newHasher();
  whole.update(data);
  if (whole.digest() !== req.hash) return changed(req.path);
  const chunks = new ChunkHasher(newHasher, FINE_CHUNK_PARAMS);
  chunks.push(data);
  return { ok: true, chunks: chunks.end() };
}

const fail = (problem: Problem): ChunkListReply => ({ ok: false, problem });

/** Not the content the engine asked about (any more): it sends the file whole instead. */
const changed = (path: string): ChunkListReply =>
  fail({ path, code: 'changed-during-sync', message: 'not the expected content; no chunk list' });

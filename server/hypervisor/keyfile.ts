import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/** An ssh private key is a few KiB; anything larger is not a key (or is /dev/zero). */
export const MAX_KEYFILE_BYTES = 64 * 1024;

/**
 * Reads a private key of at most MAX_KEYFILE_BYTES: opened without following a symlink and without blocking on a
 * FIFO, then refused unless it is a regular file of a key's size, so `/dev/zero` is never buffered.
 */
export async function readBoundedKeyfile(file: string): Promise<Buffer> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new Error('the keyfile is not a regular file');
    if (stats.size > MAX_KEYFILE_BYTES) throw new Error(`the keyfile is larger than ${MAX_KEYFILE_BYTES} bytes`);
    const buffer = Buffer.alloc(stats.size);
    const { bytesRead } = await handle.read(buffer, 0, stats.size, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

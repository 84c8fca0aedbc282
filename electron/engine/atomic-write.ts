/**
 * Records written whole or not at all, and on the disk when the call returns: a unique temporary name in the
 * same folder (two writers never share one), the data synced, the rename, then the folder synced (so that the
 * rename itself survives a power cut). A failure removes the temporary file and leaves the old record.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await fs.open(tmp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await syncDir(path.dirname(file));
}

/** fsync of a folder: its entries (a rename) reach the disk. Not possible on Windows, where renames are durable. */
export async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await fs.open(dir, 'r').catch(() => null);
  if (!handle) return;
  try {
    await handle.sync();
  } catch {
    // some file systems refuse fsync on a folder; the data itself is synced
  } finally {
    await handle.close();
  }
}

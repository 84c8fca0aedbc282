import fs from 'node:fs/promises';
import path from 'node:path';
import type { FileOutcome } from '../../shared/contract.js';
import { formatFromExtension } from './detect-format.js';

export interface CollectedFiles {
  files: string[];
  skipped: FileOutcome[];
  errors: FileOutcome[];
}

/**
 * Expand the user's selection into importable files: folders recursively, in a stable order. Hidden entries
 * and unsupported types are skipped with a reason; a symlink that leads back into a folder already being
 * walked is reported as a loop instead of being followed forever.
 */
export async function collectFiles(inputs: string[]): Promise<CollectedFiles> {
  const out: CollectedFiles = { files: [], skipped: [], errors: [] };
  const seenFiles = new Set<string>();

  const visit = async (p: string, ancestors: Set<string>, explicit: boolean): Promise<void> => {
    const name = path.basename(p);
    if (!explicit && name.startsWith('.')) {
      out.skipped.push({ path: p, reason: 'hidden' });
      return;
    }
    let stat;
    try {
      stat = await fs.stat(p);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const reason =
        code === 'ENOENT' ? (explicit ? 'no such file or folder' : 'broken symbolic link')
        : code === 'ELOOP' ? 'symbolic link loop'
        : code === 'EACCES' ? 'permission denied'
        : `cannot read: ${code ?? (err as Error).message}`;
      (explicit || code === 'EACCES' ? out.errors : out.skipped).push({ path: p, reason });
      return;
    }
    if (stat.isDirectory()) {
      let real: string;
      try {
        real = await fs.realpath(p);
      } catch {
        out.skipped.push({ path: p, reason: 'symbolic link loop' });
        return;
      }
      if (ancestors.has(real)) {
        out.skipped.push({ path: p, reason: 'symbolic link loop (points back into a parent folder)' });
        return;
      }
      let entries: string[];
      try {
        entries = (await fs.readdir(p)).sort();
      } catch (err) {
        out.errors.push({ path: p, reason: `cannot list folder: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
        return;
      }
      const next = new Set(ancestors).add(real);
      for (const entry of entries) await visit(path.join(p, entry), next, false);
      return;
    }
    if (!stat.isFile()) {
      out.skipped.push({ path: p, reason: 'not a regular file' });
      return;
    }
    if (!explicit && /^(readme|license|licence|changelog|contributing)(\.|$)/i.test(name)) {
      out.skipped.push({ path: p, reason: 'folder metadata (README/LICENSE); select the file itself to import it' });
      return;
    }
    if (!formatFromExtension(p)) {
      out.skipped.push({ path: p, reason: `unsupported file type "${path.extname(p) || 'no extension'}"` });
      return;
    }
    const real = await fs.realpath(p).catch(() => p);
    if (seenFiles.has(real)) {
      out.skipped.push({ path: p, reason: 'same file already selected through another path' });
      return;
    }
    seenFiles.add(real);
    out.files.push(p);
  };

  for (const input of inputs) await visit(path.resolve(input), new Set(), true);
  return out;
}

/**
 * A document as a person names it (on the command line, in a request): its id or the start of one, its
 * file's path or name, or its title; a part of the file name or title will do when only one document has it.
 */
import path from 'node:path';
import { DocTuneError } from '../errors.js';
import type { DocumentRow } from '../store/schema.js';

export function findDocument(docs: readonly DocumentRow[], name: string, workspaceDir: string): DocumentRow {
  const want = name.trim();
  const lower = want.toLowerCase();
  const one = (found: DocumentRow[]): DocumentRow | null => {
    if (found.length === 1) return found[0]!;
    if (found.length > 1) {
      const names = found.slice(0, 5).map((d) => `${d.title} (${path.basename(d.path)}, ${d.id.slice(0, 8)})`).join('; ');
      throw new DocTuneError('BAD_ARGUMENT', `"${name}" matches ${found.length} documents: ${names}${found.length > 5 ? '; …' : ''}. Give the file name or the id`);
    }
    return null;
  };
  const found = one(docs.filter((d) => d.id === want || d.path === path.resolve(want)))
    ?? one(docs.filter((d) => path.basename(d.path).toLowerCase() === lower || d.title.toLowerCase() === lower))
    ?? one(docs.filter((d) => (want.length >= 4 && d.id.startsWith(want)) || path.basename(d.path).toLowerCase().includes(lower) || d.title.toLowerCase().includes(lower)));
  if (!found) throw new DocTuneError('NOT_FOUND', `no document matches "${name}" (doctune docs --workspace ${workspaceDir} lists them)`);
  return found;
}

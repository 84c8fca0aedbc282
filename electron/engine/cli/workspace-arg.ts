/**
 * --workspace and --doc as the commands take them. Only `ingest`, `dataset import` and `pipeline` create a
 * workspace; every other command needs one that exists, so that a mistyped folder is an error rather than
 * a new, empty workspace.
 */
import path from 'node:path';
import type { DocumentRow } from '../store/schema.js';
import { Workspace } from '../store/workspace.js';
import { UsageError } from './options.js';

/** The workspace folder, which must hold a workspace (usage error otherwise). */
export async function requireWorkspace(dir: string): Promise<string> {
  const abs = path.resolve(dir);
  if (!(await Workspace.exists(abs))) {
    throw new UsageError(`no workspace at ${abs} (run \`doctune ingest FILES… --workspace ${abs}\` first)`);
  }
  return abs;
}

/** Open an existing workspace; never creates one. */
export async function openExistingWorkspace(dir: string): Promise<Workspace> {
  return Workspace.open(await requireWorkspace(dir), { create: false });
}

/**
 * A document named on the command line: its id (or the start of it), its file's path or name, or its title;
 * a part of the file name or title will do when only one document has it.
 */
export async function findDocument(ws: Workspace, arg: string): Promise<DocumentRow> {
  const docs = await ws.listDocuments();
  const want = arg.trim();
  const lower = want.toLowerCase();
  const one = (found: DocumentRow[]): DocumentRow | null => {
    if (found.length === 1) return found[0]!;
    if (found.length > 1) {
      const names = found.slice(0, 5).map((d) => `${d.title} (${path.basename(d.path)}, ${d.id.slice(0, 8)})`).join('; ');
      throw new UsageError(`"${arg}" matches ${found.length} documents: ${names}${found.length > 5 ? '; …' : ''}. Give the file name or the id`);
    }
    return null;
  };
  return one(docs.filter((d) => d.id === want || d.path === path.resolve(want)))
    ?? one(docs.filter((d) => path.basename(d.path).toLowerCase() === lower || d.title.toLowerCase() === lower))
    ?? one(docs.filter((d) => (want.length >= 4 && d.id.startsWith(want)) || path.basename(d.path).toLowerCase().includes(lower) || d.title.toLowerCase().includes(lower)))
    ?? (() => {
      throw new UsageError(`no document matches "${arg}" (doctune docs --workspace ${ws.dir} lists them)`);
    })();
}

import fs from 'node:fs/promises';
import path from 'node:path';
import type { FileOutcome, SyncSummary } from '../../shared/contract.js';
import { DocTuneError } from '../errors.js';
import { sha256File } from '../hash-file.js';
import type { DocumentRow } from '../store/schema.js';
import type { Workspace } from '../store/workspace.js';
import { collectFiles } from './collect-files.js';
import { ingestPaths, type IngestOptions } from './ingest-files.js';

/** What changed under the watched folders since the last sync; absent: look at everything. */
export interface FolderChanges {
  /** Files (or folders) added or changed. */
  changed: Iterable<string>;
  /** Files or folders deleted (a rename arrives as a deletion and an addition). */
  removed: Iterable<string>;
}

/**
 * Bring the workspace in line with watched folders: new and changed files are imported, files that left are
 * marked removed (their passages and QA pairs are kept, marked), and a file that moved or was renamed, or a
 * removed one that came back, keeps its document (same content, found by hash) instead of being imported again.
 */
export interface SyncOptions extends IngestOptions {
  /**
   * Files left out of earlier syncs as copies of a document stored elsewhere (content hash → path), kept by
   * the caller across syncs: when that document's file then goes (a copy and a delete, or a move between
   * watched folders seen as two syncs), the copy takes the document over.
   */
  twins?: Map<string, string>;
}

export async function syncFolders(ws: Workspace, roots: readonly string[], options: SyncOptions, changes?: FolderChanges): Promise<SyncSummary> {
  const folders = roots.map((r) => path.resolve(r));
  for (const folder of folders) {
    // An unplugged drive or an unmounted share is not every file deleted.
    if (!(await fs.stat(folder).then((s) => s.isDirectory(), () => false))) {
      throw new DocTuneError('NOT_FOUND', 'the folder is not there any more; its documents are kept', { path: folder });
    }
  }
  const inside = (p: string): boolean => folders.some((f) => isInside(p, f));
  const all = await ws.listDocuments();
  const stored = all.filter((d) => inside(d.path));
  const byPath = new Map(all.map((d) => [d.path, d]));
  // A stored document is gone only when its file is really not there (an event, or a file a walk skips such
  // as a README or one under a hidden folder, is no proof).
  const missing = async (docs: DocumentRow[]): Promise<DocumentRow[]> =>
    (await Promise.all(docs.map(async (d) => ((await fs.stat(d.path).catch(() => null)) ? null : d)))).filter((d): d is DocumentRow => d !== null);

  // The files to look at, and the stored documents whose files are gone.
  let present: string[];
  let skipped: FileOutcome[] = [];
  let errors: FileOutcome[] = [];
  let gone: DocumentRow[];
  if (!changes) {
    const found = await collectFiles(folders);
    present = found.files;
    skipped = found.skipped.filter((s) => s.reason !== 'hidden');
    errors = found.errors;
    const here = new Set(present);
    gone = await missing(stored.filter((d) => d.status !== 'removed' && !here.has(d.path)));
    const ready = stored.filter((d) => d.status === 'ready');
    if (present.length === 0 && ready.length > 0 && gone.length === ready.length) {
      // An empty mount point looks like a folder whose every file was deleted.
      throw new DocTuneError('NOT_FOUND', 'the folder is empty (a drive or share not mounted?); its documents are kept', { path: folders.join(', ') });
    }
  } else {
    const changed = [...new Set([...changes.changed].map((p) => path.resolve(p)))].filter(inside);
    const existing = await Promise.all(changed.map(async (p) => ((await fs.stat(p).catch(() => null)) ? p : null)));
    const found = await collectFiles(existing.filter((p): p is string => p !== null));
    present = found.files.filter(inside);
    skipped = found.skipped.filter((s) => s.reason !== 'hidden');
    errors = found.errors;
    const removedRoots = [...new Set([...changes.removed].map((p) => path.resolve(p)))];
    gone = await missing(stored.filter((d) => d.status !== 'removed' && removedRoots.some((r) => d.path === r || isInside(d.path, r))));
  }

  // Moves, renames and returns: a file at a path with no ready document, whose content a gone or removed
  // document (in any folder) had, takes that document over.
  const renamed: SyncSummary['renamed'] = [];
  const restored: string[] = [];
  const restorable = new Map<string, DocumentRow>();
  for (const d of [...all.filter((s) => s.status === 'removed'), ...gone]) if (d.status !== 'error' && d.sha256) restorable.set(d.sha256, d);
  const claimed = new Set<string>();
  const take = async (owner: DocumentRow, file: string): Promise<void> => {
    claimed.add(owner.id);
    restorable.delete(owner.sha256);
    await ws.moveDocument(owner.id, file);
    if (owner.path !== file) renamed.push({ from: owner.path, to: file });
    else restored.push(file);
  };
  const toImport: string[] = [];
  for (const file of present) {
    const current = byPath.get(file);
    if (restorable.size && (!current || current.status !== 'ready')) {
      const sha = await sha256File(file).catch(() => null);
      const owner = sha ? restorable.get(sha) : undefined;
      if (owner && !claimed.has(owner.id)) {
        await take(owner, file);
        continue;
      }
    }
    toImport.push(file);
  }
  // A copy imported earlier only as a twin of a document whose file is now gone takes the document over.
  for (const d of gone) {
    const twin = options.twins?.get(d.sha256);
    if (!twin || claimed.has(d.id) || byPath.get(twin)?.status === 'ready') continue;
    options.twins!.delete(d.sha256);
    if ((await sha256File(twin).catch(() => null)) === d.sha256) await take(d, twin);
  }

  // Gone documents are marked before the import, so that a file that now holds their content (a move onto
  // an existing name) is imported rather than skipped as their copy.
  const removed = gone.filter((d) => !claimed.has(d.id));
  const keep = removed.filter((d) => d.status === 'ready');
  await ws.markRemoved(keep.map((d) => d.id));
  await ws.forgetDocuments(removed.filter((d) => d.status === 'error').map((d) => d.id));
  const summary = toImport.length
    ? await ingestPaths(ws, toImport, options)
    : { documents: 0, chunks: 0, unchanged: 0, skipped: [], errors: [] };
  if (options.twins) {
    for (const s of summary.skipped) {
      if (!s.reason.startsWith('same content as ')) continue;
      const sha = await sha256File(s.path).catch(() => null);
      if (sha) options.twins.set(sha, s.path);
    }
  }
  return {
    ...summary,
    skipped: [...skipped, ...summary.skipped],
    errors: [...errors, ...summary.errors],
    removed: keep.map((d) => d.path),
    renamed,
    restored,
  };
}

/** Whether `p` lies inside the folder `dir` (not the folder itself). */
export function isInside(p: string, dir: string): boolean {
  const rel = path.relative(dir, p);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

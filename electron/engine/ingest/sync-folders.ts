import fs from 'node:fs/promises';
import path from 'node:path';
import type { FileOutcome, SyncSummary } from '../../shared/contract.js';
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
export async function syncFolders(ws: Workspace, roots: readonly string[], options: IngestOptions, changes?: FolderChanges): Promise<SyncSummary> {
  const folders = roots.map((r) => path.resolve(r));
  const inside = (p: string): boolean => folders.some((f) => isInside(p, f));
  const stored = (await ws.listDocuments()).filter((d) => inside(d.path));
  const byPath = new Map(stored.map((d) => [d.path, d]));

  // The files to look at, and the stored documents whose files may be gone.
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
    gone = stored.filter((d) => d.status !== 'removed' && !here.has(d.path));
  } else {
    const changed = [...new Set([...changes.changed].map((p) => path.resolve(p)))].filter(inside);
    const existing = await Promise.all(changed.map(async (p) => ((await fs.stat(p).catch(() => null)) ? p : null)));
    const found = await collectFiles(existing.filter((p): p is string => p !== null));
    present = found.files.filter(inside);
    skipped = found.skipped.filter((s) => s.reason !== 'hidden');
    errors = found.errors;
    const removedRoots = [...new Set([...changes.removed].map((p) => path.resolve(p)))];
    const candidates = stored.filter((d) => d.status !== 'removed' && removedRoots.some((r) => d.path === r || isInside(d.path, r)));
    // An event is a hint: only a file that is really not there any more is removed.
    gone = (await Promise.all(candidates.map(async (d) => ((await fs.stat(d.path).catch(() => null)) ? null : d)))).filter((d): d is DocumentRow => d !== null);
  }

  // Moves, renames and returns: a file at a path with no ready document whose content a gone or removed
  // document had takes that document over.
  const renamed: SyncSummary['renamed'] = [];
  const restored: string[] = [];
  const restorable = new Map<string, DocumentRow>();
  for (const d of [...stored.filter((s) => s.status === 'removed'), ...gone]) if (d.status !== 'error' && d.sha256) restorable.set(d.sha256, d);
  const claimed = new Set<string>();
  const toImport: string[] = [];
  for (const file of present) {
    const current = byPath.get(file);
    if (restorable.size && (!current || current.status !== 'ready')) {
      const sha = await sha256File(file).catch(() => null);
      const owner = sha ? restorable.get(sha) : undefined;
      if (owner && !claimed.has(owner.id)) {
        claimed.add(owner.id);
        restorable.delete(sha!);
        await ws.moveDocument(owner.id, file);
        if (owner.path !== file) renamed.push({ from: owner.path, to: file });
        else restored.push(file);
        continue;
      }
    }
    toImport.push(file);
  }

  const summary = toImport.length
    ? await ingestPaths(ws, toImport, options)
    : { documents: 0, chunks: 0, unchanged: 0, skipped: [], errors: [] };
  const removed = gone.filter((d) => !claimed.has(d.id));
  const keep = removed.filter((d) => d.status === 'ready');
  await ws.markRemoved(keep.map((d) => d.id));
  await ws.forgetDocuments(removed.filter((d) => d.status === 'error').map((d) => d.id));
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

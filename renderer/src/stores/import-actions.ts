import { getApi } from '../lib/api';
import { problemOf } from '../lib/problems';
import { collectEntries, entriesOf, itemsFromFileList } from '../lib/dropped-files';
import type { UploadItem } from '../lib/upload';
import { ingest } from './ingest.svelte';

/**
 * Where imports come from: a drop, a file/folder input, or a native dialog. Electron turns files into paths on
 * this machine; browser mode uploads them to the engine's machine first.
 */
export function importDrop(dataTransfer: DataTransfer): Promise<void> {
  // Both must be read before the first await: the browser clears the DataTransfer when the handler returns.
  const files = Array.from(dataTransfer.files);
  const entries = entriesOf(dataTransfer);
  const api = getApi();
  if (api.pathForFile) return importPaths(files.map((file) => api.pathForFile?.(file) ?? ''));
  return collectEntries(entries).then(importItems, () => ingest.reportProblem({ key: 'import.nothingFound' }));
}

export function importFileList(files: FileList | null): Promise<void> {
  return importItems(itemsFromFileList(files ?? []));
}

export async function pickAndImport(kind: 'files' | 'folder'): Promise<void> {
  try {
    const { paths } = await getApi().invoke('dialog.pickPaths', { kind });
    // An empty answer means the dialog was cancelled: nothing to report.
    if (paths.length > 0) await ingest.importPaths(paths);
  } catch (err) {
    ingest.reportProblem(problemOf(err));
  }
}

async function importItems(items: UploadItem[]): Promise<void> {
  const api = getApi();
  if (api.pathForFile) return importPaths(items.map((item) => api.pathForFile?.(item.file) ?? ''));
  if (items.length === 0) return ingest.reportProblem({ key: 'import.nothingFound' });
  if (!api.upload) return ingest.reportProblem({ key: 'import.notSupported' });
  await ingest.importUploads(items);
}

async function importPaths(paths: string[]): Promise<void> {
  const real = [...new Set(paths.filter((path) => path.length > 0))];
  if (real.length === 0) return ingest.reportProblem({ key: 'import.nothingFound' });
  await ingest.importPaths(real);
}

import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../testing/corpus.js';
import { FolderWatcher } from './folder-watcher.js';
import type { FolderChanges } from './sync-folders.js';

/** Poll until `check` holds (file events arrive asynchronously). */
async function until(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('watching a folder', () => {
  let watcher: FolderWatcher | null = null;
  afterEach(async () => {
    await watcher?.close();
    watcher = null;
  });

  const open = async (folder: string, onSync?: () => Promise<void>) => {
    const batches: { changed: string[]; removed: string[] }[] = [];
    watcher = await FolderWatcher.open([folder], {
      quietMs: 300,
      sync: async (c: FolderChanges) => {
        batches.push({ changed: [...c.changed].sort(), removed: [...c.removed].sort() });
        await onSync?.();
      },
    });
    return batches;
  };

  it('a burst of new files becomes one batch once the folder is quiet; hidden and temporary files are ignored', async () => {
    const folder = tempDir('watch-burst');
    fs.writeFileSync(path.join(folder, 'before.md'), 'there before watching');
    const batches = await open(folder);
    const names = Array.from({ length: 40 }, (_, i) => `notice-${String(i).padStart(2, '0')}.md`);
    for (const n of names) fs.writeFileSync(path.join(folder, n), `notice ${n}`);
    fs.writeFileSync(path.join(folder, '.hidden.md'), 'x');
    fs.writeFileSync(path.join(folder, '~$report.docx'), 'office lock file');
    fs.writeFileSync(path.join(folder, 'download.pdf.crdownload'), 'partial');
    await until(() => batches.flatMap((b) => b.changed).length >= names.length, 'the new files');
    await watcher!.settled();
    expect(batches.length).toBeLessThanOrEqual(2);
    expect(batches.flatMap((b) => b.changed).sort()).toEqual(names.map((n) => path.join(folder, n)));
    expect(batches.flatMap((b) => b.removed)).toEqual([]);
  });

  it('a rename arrives as the old path removed and the new one changed, in one batch', async () => {
    const folder = tempDir('watch-rename');
    const from = path.join(folder, 'draft.md');
    fs.writeFileSync(from, 'ladder angles');
    const batches = await open(folder);
    const to = path.join(folder, 'final.md');
    fs.renameSync(from, to);
    await until(() => batches.length > 0, 'the rename');
    expect(batches[0]).toEqual({ changed: [to], removed: [from] });
  });

  it('changes during a sync wait for it, then make the next batch; a deleted folder is reported as one path', async () => {
    const folder = tempDir('watch-busy');
    fs.mkdirSync(path.join(folder, 'old'));
    fs.writeFileSync(path.join(folder, 'old', 'a.md'), 'a');
    let release: () => void = () => undefined;
    let active = 0;
    let overlapped = false;
    const batches = await open(folder, async () => {
      active++;
      if (active > 1) overlapped = true;
      if (batches.length === 1) await new Promise<void>((r) => (release = r));
      active--;
    });
    fs.writeFileSync(path.join(folder, 'first.md'), '1');
    await until(() => batches.length === 1, 'the first batch');
    fs.writeFileSync(path.join(folder, 'second.md'), '2');
    fs.rmSync(path.join(folder, 'old'), { recursive: true });
    await new Promise((r) => setTimeout(r, 900));
    expect(batches).toHaveLength(1); // held while the first sync runs
    release();
    await until(() => batches.length === 2, 'the second batch');
    expect(overlapped).toBe(false);
    expect(batches[1]!.changed).toEqual([path.join(folder, 'second.md')]);
    expect(batches[1]!.removed).toContain(path.join(folder, 'old'));
  });
});

import type { WatchedFolder } from '$shared/contract';
import { getApi } from '../lib/api';
import { problemOf, type Problem } from '../lib/problems';
import { documents } from './documents.svelte';
import { qa } from './qa.svelte';
import { workspace } from './workspace.svelte';

/** The workspace's watched folders: what each is doing, and what its last sync changed. */
class WatchStore {
  folders = $state.raw<WatchedFolder[]>([]);
  problem = $state.raw<Problem | null>(null);
  busy = $state(false);

  /** Subscribe to the engine's events; returns the unsubscribe function. */
  listen(): () => void {
    return getApi().on('watch.changed', (folders) => this.show(folders));
  }

  async refresh(): Promise<void> {
    try {
      this.folders = await getApi().invoke('watch.list', {});
      this.problem = null;
    } catch (err) {
      this.problem = problemOf(err);
    }
  }

  async add(path: string): Promise<boolean> {
    return this.change(() => getApi().invoke('watch.add', { path }));
  }

  /** Pick a folder with the system dialog (desktop app), then watch it. */
  async pickAndAdd(): Promise<void> {
    try {
      const { paths } = await getApi().invoke('dialog.pickPaths', { kind: 'folder' });
      if (paths[0]) await this.add(paths[0]);
    } catch (err) {
      this.problem = problemOf(err);
    }
  }

  async remove(path: string): Promise<boolean> {
    return this.change(() => getApi().invoke('watch.remove', { path }));
  }

  private async change(call: () => Promise<WatchedFolder[]>): Promise<boolean> {
    this.busy = true;
    try {
      this.show(await call());
      this.problem = null;
      return true;
    } catch (err) {
      this.problem = problemOf(err);
      return false;
    } finally {
      this.busy = false;
    }
  }

  private show(folders: WatchedFolder[]): void {
    // A sync that ended changed the documents (and the counts in the header).
    const synced = folders.some((f) => {
      const before = this.folders.find((b) => b.path === f.path);
      return f.lastSync !== null && f.lastSync.at !== before?.lastSync?.at;
    });
    this.folders = folders;
    if (synced) {
      void documents.refresh();
      void workspace.refresh();
      // Pairs may now rest on removed or changed passages.
      if (qa.loaded) void qa.refresh();
    }
  }
}

export const watch = new WatchStore();

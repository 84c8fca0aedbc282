import fs from 'node:fs/promises';
import path from 'node:path';
import type { EventName, EventOf, SyncSummary, WatchedFolder } from '../../shared/contract.js';
import { DocTuneError, toWireError } from '../errors.js';
import { FolderWatcher } from '../ingest/folder-watcher.js';
import type { IngestOptions } from '../ingest/ingest-files.js';
import { isInside, syncFolders, type FolderChanges } from '../ingest/sync-folders.js';
import type { Workspace } from '../store/workspace.js';

export interface WatchDoorOptions {
  ws: () => Promise<Workspace>;
  /** Runs work in the engine's import queue (a sync never overlaps an import). */
  exclusive: <T>(work: () => Promise<T>) => Promise<T>;
  ingestOptions: (ws: Workspace) => Promise<IngestOptions>;
  emit: <E extends EventName>(event: E, payload: EventOf<E>) => void;
  quietMs?: number;
}

interface FolderState {
  watcher: FolderWatcher | null;
  state: WatchedFolder['state'];
  error: string | null;
  lastSync: WatchedFolder['lastSync'];
}

/**
 * Watched folders: kept in the workspace's settings and, while the engine runs, kept in step with the
 * workspace. Each folder is caught up on start (what changed while the app was closed), then synced a moment
 * after each burst of changes.
 */
export class WatchDoor {
  private readonly folders = new Map<string, FolderState>();
  private started: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly o: WatchDoorOptions) {}

  /** Start watching the workspace's folders (once; later calls wait for the first). */
  start(): Promise<void> {
    this.started ??= (async () => {
      const ws = await this.o.ws();
      for (const folder of ws.settings.watchedFolders) await this.begin(folder);
    })();
    return this.started;
  }

  async list(): Promise<WatchedFolder[]> {
    await this.start();
    return [...this.folders.entries()].map(([p, s]) => ({ path: p, state: s.state, error: s.error, lastSync: s.lastSync }));
  }

  async add(folder: string): Promise<WatchedFolder[]> {
    await this.start();
    const ws = await this.o.ws();
    const dir = await watchable(ws, folder);
    const outer = [...this.folders.keys()].find((f) => f === dir || isInside(dir, f));
    if (outer) throw new DocTuneError('BAD_ARGUMENT', outer === dir ? 'already watched' : `already watched as part of ${outer}`, { path: dir });
    // A folder around watched ones takes their place.
    for (const inner of [...this.folders.keys()].filter((f) => isInside(f, dir))) await this.end(inner);
    await ws.updateSettings({ watchedFolders: [...this.folders.keys(), dir] });
    await this.begin(dir);
    return this.list();
  }

  /** Stop watching a folder; its documents stay. */
  async remove(folder: string): Promise<WatchedFolder[]> {
    await this.start();
    const dir = path.resolve(folder);
    if (!this.folders.has(dir)) throw new DocTuneError('NOT_FOUND', 'not a watched folder', { path: dir });
    await this.end(dir);
    await (await this.o.ws()).updateSettings({ watchedFolders: [...this.folders.keys()] });
    return this.list();
  }

  /**
   * Keep folders in step until `signal` aborts, without adding them to the workspace's watched folders
   * (`doctune ingest --watch`): a full sync first, then one after each burst of changes.
   */
  async follow(folders: readonly string[], o: { signal: AbortSignal; onSync: (folder: string, summary: SyncSummary) => void; onError: (folder: string, err: unknown) => void; progress?: IngestOptions['onProgress'] }): Promise<void> {
    const ws = await this.o.ws();
    const dirs: string[] = [];
    for (const f of folders) dirs.push(await watchable(ws, f));
    const run = async (dir: string, changes?: FolderChanges): Promise<void> => {
      if (o.signal.aborted) return;
      try {
        const summary = await this.o.exclusive(async () => syncFolders(ws, [dir], { ...(await this.o.ingestOptions(ws)), ...(o.progress ? { onProgress: o.progress } : {}) }, changes));
        o.onSync(dir, summary);
      } catch (err) {
        o.onError(dir, err);
      }
    };
    const watchers: FolderWatcher[] = [];
    try {
      for (const dir of dirs) {
        watchers.push(await FolderWatcher.open([dir], { quietMs: this.o.quietMs ?? 1000, sync: (changes) => run(dir, changes), onError: (err) => o.onError(dir, err) }));
        await run(dir);
      }
      if (!o.signal.aborted) await new Promise<void>((resolve) => o.signal.addEventListener('abort', () => resolve(), { once: true }));
    } finally {
      await Promise.all(watchers.map((w) => w.close()));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.started?.catch(() => undefined);
    await Promise.all([...this.folders.values()].map((s) => s.watcher?.close()));
  }

  private async begin(dir: string): Promise<void> {
    const state: FolderState = { watcher: null, state: 'syncing', error: null, lastSync: null };
    this.folders.set(dir, state);
    this.changed();
    try {
      // Watch first, so that nothing changing during the catch-up is missed; then catch up.
      state.watcher = await FolderWatcher.open([dir], {
        quietMs: this.o.quietMs ?? 1000,
        sync: (changes) => this.sync(dir, changes),
        onError: (err) => this.fail(dir, err),
      });
      if (this.closed) {
        await state.watcher.close();
        return;
      }
      await this.sync(dir);
    } catch (err) {
      this.fail(dir, err);
    }
  }

  private async end(dir: string): Promise<void> {
    const state = this.folders.get(dir);
    this.folders.delete(dir);
    await state?.watcher?.close();
    this.changed();
  }

  private async sync(dir: string, changes?: FolderChanges): Promise<void> {
    const state = this.folders.get(dir);
    if (!state || this.closed) return;
    const exists = await fs.stat(dir).then((s) => s.isDirectory(), () => false);
    if (!exists) {
      // A folder that went away (an unplugged drive, an unmounted share) is not taken as every file deleted.
      this.fail(dir, new DocTuneError('NOT_FOUND', 'the folder is not there any more; its documents are kept', { path: dir }));
      return;
    }
    state.state = 'syncing';
    this.changed();
    try {
      const summary: SyncSummary = await this.o.exclusive(async () => {
        const ws = await this.o.ws();
        return syncFolders(ws, [dir], await this.o.ingestOptions(ws), changes);
      });
      state.state = 'watching';
      state.error = null;
      state.lastSync = { at: new Date().toISOString(), summary };
    } catch (err) {
      this.fail(dir, err);
      return;
    }
    this.changed();
  }

  private fail(dir: string, err: unknown): void {
    const state = this.folders.get(dir);
    if (!state) return;
    state.state = 'error';
    state.error = toWireError(err).message;
    this.changed();
  }

  private changed(): void {
    if (this.closed) return;
    this.o.emit('watch.changed', [...this.folders.entries()].map(([p, s]) => ({ path: p, state: s.state, error: s.error, lastSync: s.lastSync })));
  }
}

/** The folder, resolved, if it can be watched; else why not, naming it. */
async function watchable(ws: Workspace, folder: string): Promise<string> {
  const dir = path.resolve(folder);
  const stat = await fs.stat(dir).catch(() => null);
  if (!stat) throw new DocTuneError('BAD_ARGUMENT', 'no such folder', { path: dir });
  if (!stat.isDirectory()) throw new DocTuneError('BAD_ARGUMENT', 'not a folder (only folders can be watched)', { path: dir });
  // The workspace writes into its own folder: watching it, or a folder holding it, would feed on itself.
  if (dir === ws.dir || isInside(ws.dir, dir) || isInside(dir, ws.dir)) {
    throw new DocTuneError('BAD_ARGUMENT', 'the workspace folder cannot be watched, nor a folder inside it or around it', { path: dir });
  }
  return dir;
}

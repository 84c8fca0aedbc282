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
  /** Why the workspace cannot be written now (the pipeline or generation at work), or null. */
  blocked?: () => string | null;
  quietMs?: number;
}

/** How long a sync waits before trying again while other work holds the workspace. */
const RETRY_MS = 3000;

interface FolderState {
  watcher: FolderWatcher | null;
  /** Stops this folder's sync in progress (the folder removed, the engine closing). */
  controller: AbortController;
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
  private running = 0;
  /** Copies skipped as twins of stored documents, across folders and syncs (see SyncOptions.twins). */
  private readonly twins = new Map<string, string>();

  constructor(private readonly o: WatchDoorOptions) {}

  /** Start watching the workspace's folders (once); their catch-up syncs go on in the background. */
  start(): Promise<void> {
    this.started ??= (async () => {
      const ws = await this.o.ws();
      for (const folder of ws.settings.watchedFolders) void this.begin(folder);
    })();
    return this.started;
  }

  /** Whether a sync is writing to the workspace now. */
  get syncing(): boolean {
    return this.running > 0;
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
    const begun = this.begin(dir);
    await ws.updateSettings({ watchedFolders: [...this.folders.keys()] });
    // The folder is listed (syncing) at once; its first import goes on in the background.
    await begun.watching;
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
        const summary = await this.o.exclusive(async () => syncFolders(ws, [dir], {
          ...(await this.o.ingestOptions(ws)), signal: o.signal, twins: this.twins, ...(o.progress ? { onProgress: o.progress } : {}),
        }, changes));
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
    for (const s of this.folders.values()) s.controller.abort();
    await Promise.all([...this.folders.values()].map((s) => s.watcher?.close()));
  }

  /** Register the folder and start watching it; `watching` resolves once events flow, the catch-up runs after. */
  private begin(dir: string): { watching: Promise<void> } {
    const state: FolderState = { watcher: null, controller: new AbortController(), state: 'syncing', error: null, lastSync: null };
    this.folders.set(dir, state);
    this.changed();
    const watching = (async () => {
      try {
        // Watch first, so that nothing changing during the catch-up is missed; then catch up.
        const watcher = await FolderWatcher.open([dir], {
          quietMs: this.o.quietMs ?? 1000,
          sync: (changes) => this.sync(dir, state, changes),
          onError: (err) => this.fail(dir, state, err),
        });
        // Closed, or the folder dropped, while the watcher started.
        if (this.closed || this.folders.get(dir) !== state) await watcher.close();
        else state.watcher = watcher;
      } catch (err) {
        this.fail(dir, state, err);
      }
    })();
    void watching.then(() => (state.watcher ? this.sync(dir, state) : undefined));
    return { watching };
  }

  private async end(dir: string): Promise<void> {
    const state = this.folders.get(dir);
    this.folders.delete(dir);
    state?.controller.abort();
    await state?.watcher?.close();
    this.changed();
  }

  private async sync(dir: string, state: FolderState, changes?: FolderChanges): Promise<void> {
    if (this.closed || this.folders.get(dir) !== state) return;
    const blocked = this.o.blocked?.();
    if (blocked) {
      // The pipeline or generation holds the workspace: the same changes are tried again shortly.
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      return this.sync(dir, state, changes);
    }
    state.state = 'syncing';
    this.changed();
    try {
      const summary: SyncSummary = await this.o.exclusive(async () => {
        this.running++;
        try {
          const ws = await this.o.ws();
          // The folder is checked here, in the queue, right before the sync reads it.
          return await syncFolders(ws, [dir], { ...(await this.o.ingestOptions(ws)), signal: state.controller.signal, twins: this.twins }, changes);
        } finally {
          this.running--;
        }
      });
      state.state = 'watching';
      state.error = null;
      state.lastSync = { at: new Date().toISOString(), summary };
    } catch (err) {
      if (state.controller.signal.aborted) return;
      this.fail(dir, state, err);
      return;
    }
    this.changed();
  }

  private fail(dir: string, state: FolderState, err: unknown): void {
    if (this.folders.get(dir) !== state) return;
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

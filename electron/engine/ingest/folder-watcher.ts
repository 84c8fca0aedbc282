import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { FolderChanges } from './sync-folders.js';

export interface FolderWatcherOptions {
  /** Brings the workspace in step with what changed; never called twice at once. */
  sync: (changes: FolderChanges) => Promise<void>;
  /** Watching failed (the folder vanished, too many files for the system's watch limit, …). */
  onError?: (err: Error) => void;
  /** How long the folder must be quiet before a sync (a copy of many files becomes one sync). */
  quietMs?: number;
  /** The longest changes wait while the folder keeps changing. */
  maxWaitMs?: number;
  /** Poll instead of using the system's file events (network shares that send none). */
  usePolling?: boolean;
}

/** Files editors, office suites and downloads write beside the real ones while they work. */
const TEMPORARY = /^~\$|^~lock\.|\.(tmp|temp|swp|swx|part|crdownload|download)$|~$/i;

/**
 * Watches folders for added, changed, renamed and deleted files and hands them over in batches: events are
 * collected until the folders have been quiet a moment (or a maximum wait has passed), then passed to `sync`;
 * events arriving during a sync wait for the next one. Files still being written are reported once their size
 * stops changing. Hidden and temporary files are ignored.
 */
export class FolderWatcher {
  private changed = new Set<string>();
  private removed = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private firstPending = 0;
  private running: Promise<void> | null = null;
  private closed = false;

  private constructor(
    private readonly watcher: FSWatcher,
    private readonly roots: Set<string>,
    private readonly options: FolderWatcherOptions,
  ) {}

  /** Start watching; resolves once the folders have been scanned and events are being delivered. */
  static async open(folders: readonly string[], options: FolderWatcherOptions): Promise<FolderWatcher> {
    const roots = new Set(folders.map((f) => path.resolve(f)));
    const watcher = watch([...roots], {
      ignoreInitial: true,
      persistent: true,
      usePolling: options.usePolling ?? false,
      // Only names below a watched folder are judged: the folder itself may sit under a hidden one.
      ignored: (p: string) => !roots.has(path.resolve(p)) && (path.basename(p).startsWith('.') || TEMPORARY.test(path.basename(p))),
      // Shorter than the quiet time, so that a rename's new name (held until its size is stable) joins the
      // batch of its old one; sync copes with the two apart, but one batch keeps the document from flickering.
      awaitWriteFinish: { stabilityThreshold: Math.min(400, Math.round((options.quietMs ?? 1000) / 3)), pollInterval: 50 },
      atomic: true,
    });
    const self = new FolderWatcher(watcher, roots, options);
    watcher.on('add', (p) => self.note('changed', p));
    watcher.on('change', (p) => self.note('changed', p));
    watcher.on('addDir', (p) => self.note('changed', p));
    watcher.on('unlink', (p) => self.note('removed', p));
    watcher.on('unlinkDir', (p) => self.note('removed', p));
    watcher.on('error', (err) => options.onError?.(err instanceof Error ? err : new Error(String(err))));
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
    return self;
  }

  get folders(): string[] {
    return [...this.roots];
  }

  /** Changes seen and not yet handed to `sync`. */
  get pending(): number {
    return this.changed.size + this.removed.size;
  }

  /** Wait until every change seen so far has been synced (tests, and the CLI before it exits). */
  async settled(): Promise<void> {
    while (this.running || this.timer) {
      if (this.running) await this.running;
      else await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.watcher.close();
    await this.running?.catch(() => undefined);
  }

  private note(kind: 'changed' | 'removed', p: string): void {
    if (this.closed) return;
    const abs = path.resolve(p);
    // A path deleted and written again (or the reverse) within one batch counts as its last event; sync
    // checks the disk either way.
    (kind === 'changed' ? this.removed : this.changed).delete(abs);
    (kind === 'changed' ? this.changed : this.removed).add(abs);
    if (!this.firstPending) this.firstPending = Date.now();
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    const quiet = this.options.quietMs ?? 1000;
    const waited = Date.now() - this.firstPending;
    const delay = Math.max(0, Math.min(quiet, (this.options.maxWaitMs ?? 10_000) - waited));
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, delay);
  }

  private async flush(): Promise<void> {
    if (this.closed) return;
    if (this.running) {
      // The sync in progress schedules the waiting batch when it ends.
      return;
    }
    if (!this.pending) return;
    const changes = { changed: [...this.changed], removed: [...this.removed] };
    this.changed = new Set();
    this.removed = new Set();
    this.firstPending = 0;
    const run = this.options.sync(changes).catch((err: unknown) => this.options.onError?.(err instanceof Error ? err : new Error(String(err))));
    this.running = run.finally(() => {
      this.running = null;
      if (this.pending && !this.timer && !this.closed) this.schedule();
    });
    await this.running;
  }
}

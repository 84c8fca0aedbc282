import type { EventOf, FileStage, IngestSummary } from '$shared/contract';
import { getApi, type UploadItem } from '../lib/api';
import { problemOf, type Problem } from '../lib/problems';
import { importTargets } from '../lib/upload';
import { documents } from './documents.svelte';
import { workspace } from './workspace.svelte';

/** The engine accepts at most this many paths per `ingest.start` (see the contract). */
export const MAX_PATHS_PER_IMPORT = 10_000;

export interface FileRow {
  path: string;
  jobId: string;
  stage: FileStage;
  fraction: number;
  reason?: string;
  chunks?: number;
  /** While scanned pages are read by OCR: pages read of pages to read. */
  ocr?: { done: number; total: number };
  /** Part of the job's filesTotal (files rejected while collecting, before processing, are not). */
  counted: boolean;
}

interface Job {
  id: string;
  filesDone: number;
  filesTotal: number;
  finished: boolean;
  summary: IngestSummary | null;
  failure: string | null;
}

type BufferedEvent = { kind: 'progress'; payload: EventOf<'ingest.progress'> } | { kind: 'end'; jobId: string; summary: IngestSummary | null; failure: string | null };

const TERMINAL: ReadonlySet<FileStage> = new Set(['done', 'unchanged', 'skipped', 'error']);
const LIST_REFRESH_MS = 1500;

/**
 * Progress of the current import batch. A batch is everything imported since the list was last idle: a new
 * import while one is running joins the batch, one started after it finished starts a new batch.
 */
class IngestStore {
  rows = $state<FileRow[]>([]);
  jobs = $state<Job[]>([]);
  upload = $state<{ files: number; sentBytes: number; totalBytes: number } | null>(null);
  problem = $state.raw<Problem | null>(null);
  private startsInFlight = $state(0);

  private rowIndex = new Map<string, number>();
  // Progress can arrive before `ingest.start` answers with its job id; hold it until then.
  private buffered: BufferedEvent[] = [];
  private listRefresh: ReturnType<typeof setTimeout> | null = null;

  running = $derived(this.upload !== null || this.startsInFlight > 0 || this.jobs.some((job) => !job.finished));
  phase = $derived<'idle' | 'running' | 'finished'>(
    this.running ? 'running' : this.jobs.length > 0 || this.problem ? 'finished' : 'idle',
  );
  filesDone = $derived(this.jobs.reduce((sum, job) => sum + job.filesDone, 0));
  filesTotal = $derived(this.jobs.reduce((sum, job) => sum + job.filesTotal, 0) || (this.upload?.files ?? 0));
  overallFraction = $derived(this.computeOverallFraction());
  summary = $derived(combineSummaries(this.jobs));
  failures = $derived(this.jobs.flatMap((job) => (job.failure ? [job.failure] : [])));

  /** Subscribe to the engine's events; returns the unsubscribe function. */
  listen(): () => void {
    const api = getApi();
    const offs = [
      api.on('ingest.progress', (payload) => this.accept({ kind: 'progress', payload })),
      api.on('ingest.done', ({ jobId, summary }) => this.accept({ kind: 'end', jobId, summary, failure: null })),
      api.on('ingest.failed', ({ jobId, error }) => this.accept({ kind: 'end', jobId, summary: null, failure: error })),
    ];
    return () => offs.forEach((off) => off());
  }

  /** Upload files (browser mode), then import what was stored. */
  async importUploads(items: UploadItem[]): Promise<void> {
    const api = getApi();
    if (!api.upload) return;
    this.beginBatchIfIdle();
    // Checked before uploading anything: the engine would refuse the batch after a long upload.
    if (items.length > MAX_PATHS_PER_IMPORT) return this.refuseTooMany(items.length);
    const totalBytes = items.reduce((sum, item) => sum + item.file.size, 0);
    this.upload = { files: items.length, sentBytes: 0, totalBytes };
    let paths: string[];
    try {
      paths = await api.upload(items, (sentBytes) => {
        if (this.upload) this.upload.sentBytes = sentBytes;
      });
    } catch (err) {
      this.problem = problemOf(err);
      return;
    } finally {
      this.upload = null;
    }
    await this.startJob(importTargets(items, paths));
  }

  async importPaths(paths: string[]): Promise<void> {
    if (paths.length === 0) return;
    this.beginBatchIfIdle();
    await this.startJob(paths);
  }

  private async startJob(paths: string[]): Promise<void> {
    if (paths.length > MAX_PATHS_PER_IMPORT) return this.refuseTooMany(paths.length);
    this.startsInFlight++;
    try {
      const { jobId } = await getApi().invoke('ingest.start', { paths });
      this.trackJob(jobId);
    } catch (err) {
      this.problem = problemOf(err);
    } finally {
      this.startsInFlight--;
      this.replayBuffered();
    }
  }

  private refuseTooMany(count: number): void {
    this.problem = { key: 'import.tooMany', params: { count, max: MAX_PATHS_PER_IMPORT } };
  }

  async cancel(): Promise<void> {
    const api = getApi();
    const open = this.jobs.filter((job) => !job.finished);
    await Promise.all(open.map((job) => api.invoke('ingest.cancel', { jobId: job.id }).catch(() => undefined)));
  }

  /** Forget a finished batch (the Clear button). */
  clear(): void {
    if (this.running) return;
    this.reset();
  }

  reportProblem(problem: Problem): void {
    this.beginBatchIfIdle();
    this.problem = problem;
  }

  private beginBatchIfIdle(): void {
    if (!this.running) this.reset();
  }

  private reset(): void {
    this.rows = [];
    this.jobs = [];
    this.problem = null;
    this.rowIndex.clear();
  }

  private trackJob(jobId: string): Job {
    const existing = this.jobs.find((job) => job.id === jobId);
    if (existing) return existing;
    this.jobs.push({ id: jobId, filesDone: 0, filesTotal: 0, finished: false, summary: null, failure: null });
    return this.jobs[this.jobs.length - 1] as Job;
  }

  private accept(event: BufferedEvent): void {
    const jobId = event.kind === 'progress' ? event.payload.jobId : event.jobId;
    const known = this.jobs.some((job) => job.id === jobId);
    if (!known && this.startsInFlight > 0) {
      this.buffered.push(event);
      return;
    }
    if (!known) {
      // A job this window did not start (another tab, or one running before a reload): show it too.
      if (event.kind === 'end') return;
      this.beginBatchIfIdle();
    }
    this.apply(event);
  }

  private replayBuffered(): void {
    const pending = this.buffered;
    this.buffered = [];
    for (const event of pending) this.accept(event);
  }

  private apply(event: BufferedEvent): void {
    if (event.kind === 'end') {
      const job = this.trackJob(event.jobId);
      job.finished = true;
      job.summary = event.summary;
      job.failure = event.failure;
      this.refreshLists();
      return;
    }
    const progress = event.payload;
    const job = this.trackJob(progress.jobId);
    job.filesDone = progress.filesDone;
    job.filesTotal = progress.filesTotal;
    const row: FileRow = {
      path: progress.path,
      jobId: progress.jobId,
      stage: progress.stage,
      fraction: Math.max(0, Math.min(1, progress.fraction)),
      reason: progress.reason,
      chunks: progress.chunks,
      ocr: progress.ocr,
      // Files rejected while the engine collected them arrive straight as skipped/error and are not in filesTotal.
      counted: progress.stage !== 'skipped' && progress.stage !== 'error',
    };
    const index = this.rowIndex.get(row.path);
    if (index === undefined) {
      this.rowIndex.set(row.path, this.rows.length);
      this.rows.push(row);
    } else {
      const previous = this.rows[index];
      row.counted ||= previous?.counted === true && previous.jobId === row.jobId;
      this.rows[index] = row;
    }
    if (row.stage === 'done') this.scheduleListRefresh();
  }

  private computeOverallFraction(): number {
    if (this.upload) return this.upload.totalBytes > 0 ? this.upload.sentBytes / this.upload.totalBytes : 0;
    const total = this.filesTotal;
    if (total === 0) return this.phase === 'finished' ? 1 : 0;
    const progressed = this.rows.reduce((sum, row) => sum + (row.counted ? (TERMINAL.has(row.stage) ? 1 : row.fraction) : 0), 0);
    return Math.min(1, progressed / total);
  }

  /** Imported documents appear in the list while a long import runs, at most every LIST_REFRESH_MS. */
  private scheduleListRefresh(): void {
    if (this.listRefresh !== null) return;
    this.listRefresh = setTimeout(() => {
      this.listRefresh = null;
      void documents.refresh();
    }, LIST_REFRESH_MS);
  }

  private refreshLists(): void {
    if (this.listRefresh !== null) clearTimeout(this.listRefresh);
    this.listRefresh = null;
    void documents.refresh();
    void workspace.refresh();
  }
}

function combineSummaries(jobs: readonly Job[]): IngestSummary | null {
  const summaries = jobs.flatMap((job) => (job.summary ? [job.summary] : []));
  if (summaries.length === 0) return null;
  return {
    documents: summaries.reduce((sum, s) => sum + s.documents, 0),
    chunks: summaries.reduce((sum, s) => sum + s.chunks, 0),
    unchanged: summaries.reduce((sum, s) => sum + s.unchanged, 0),
    skipped: summaries.flatMap((s) => s.skipped),
    errors: summaries.flatMap((s) => s.errors),
  };
}

export const ingest = new IngestStore();

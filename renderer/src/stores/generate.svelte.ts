import type { EventOf, GenerateSummary } from '$shared/contract';
import { getApi } from '../lib/api';
import { problemOf, type Problem } from '../lib/problems';
import { qa } from './qa.svelte';

export type GeneratePhase = 'idle' | 'starting' | 'running' | 'done' | 'failed' | 'cancelled';

/**
 * QA-pair generation, which runs in the engine in the background: it goes on while the window shows another
 * page, and the list follows once it ends. The engine runs one generation at a time, so events of a job this
 * window did not start (another tab, or one started before a reload) are shown too.
 */
class GenerateStore {
  phase = $state<GeneratePhase>('idle');
  jobId = $state<string | null>(null);
  progress = $state.raw<Omit<EventOf<'generate.progress'>, 'jobId'> | null>(null);
  summary = $state.raw<GenerateSummary | null>(null);
  problem = $state.raw<Problem | null>(null);
  cancelling = $state(false);

  running = $derived(this.phase === 'starting' || this.phase === 'running');
  fraction = $derived(this.progress && this.progress.total > 0 ? this.progress.done / this.progress.total : 0);

  private readonly ended = new Set<string>();

  listen(): () => void {
    const api = getApi();
    const offs = [
      api.on('generate.progress', ({ jobId, ...progress }) => {
        if (this.ended.has(jobId)) return;
        if (!this.running) this.reset();
        this.jobId = jobId;
        this.phase = 'running';
        this.progress = progress;
      }),
      api.on('generate.done', ({ jobId, summary }) => this.end(jobId, summary, null)),
      api.on('generate.failed', ({ jobId, error }) => this.end(jobId, null, error)),
    ];
    return () => offs.forEach((off) => off());
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.reset();
    this.phase = 'starting';
    try {
      const { jobId } = await getApi().invoke('dataset.generate', {});
      // A small workspace can finish before the answer arrives.
      if (this.ended.has(jobId)) return;
      this.jobId = jobId;
      if (this.phase === 'starting') this.phase = 'running';
    } catch (err) {
      if (this.phase !== 'starting') return;
      this.problem = problemOf(err);
      this.phase = 'failed';
    }
  }

  async cancel(): Promise<void> {
    const jobId = this.jobId;
    if (!jobId || !this.running) return;
    this.cancelling = true;
    try {
      const { cancelled } = await getApi().invoke('dataset.cancel', { jobId });
      if (!cancelled) this.cancelling = false;
    } catch (err) {
      this.cancelling = false;
      this.problem = problemOf(err);
    }
  }

  /** Hide a finished run's summary. */
  clear(): void {
    if (!this.running) this.reset();
  }

  private end(jobId: string, summary: GenerateSummary | null, error: string | null): void {
    if (this.ended.has(jobId)) return;
    this.ended.add(jobId);
    // Another job's end (one this window never saw start) is not news while our own runs.
    if (this.jobId !== null && this.jobId !== jobId && this.running) return;
    this.jobId = jobId;
    this.summary = summary;
    if (error === null) this.phase = 'done';
    else if (this.cancelling) this.phase = 'cancelled';
    else {
      this.phase = 'failed';
      this.problem = { key: 'generate.failed', params: { error } };
    }
    this.cancelling = false;
    // Pairs are stored passage by passage: even a stopped run added some. (Not yet shown: loaded when it is.)
    if (qa.loaded) void qa.refresh();
  }

  private reset(): void {
    this.phase = 'idle';
    this.jobId = null;
    this.progress = null;
    this.summary = null;
    this.problem = null;
    this.cancelling = false;
  }
}

export const generate = new GenerateStore();

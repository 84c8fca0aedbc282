import type { PipelineProgressEvent, PipelineResultView, PipelineRunInfo, PipelineStage } from '$shared/contract';
import { PIPELINE_STAGES, type DeviceChoice, type PrecisionChoice } from '$shared/contract';
import { getApi } from '../lib/api';
import { t } from '../lib/i18n.svelte';
import { notifyIfAway } from '../lib/notify';
import { problemOf, type Problem } from '../lib/problems';
import { chatSettings } from './chat-settings.svelte';

export type StageState = {
  status: 'waiting' | 'running' | 'done' | 'skipped' | 'failed'; done: number | null; total: number | null; loss: number | null; etaSeconds: number | null; count: number | null; device: string | null;
  /** Training: how the data was fitted to the sequence length, and the step a resumed run continued from. */
  fit: PipelineProgressEvent['fit']; resumedAt: number | null;
};
export type PipelinePhase = 'idle' | 'starting' | 'running' | 'done' | 'failed' | 'cancelled';

const waiting = (): Record<PipelineStage, StageState> =>
  Object.fromEntries(PIPELINE_STAGES.map((s) => [s, { status: 'waiting', done: null, total: null, loss: null, etaSeconds: null, count: null, device: null, fit: null, resumedAt: null }])) as Record<PipelineStage, StageState>;

/** Stages long enough to be worth a notification when they end while the user is away. */
const LONG_STAGES: readonly PipelineStage[] = ['generate', 'train', 'eval'];

/**
 * The "New adapter" run: one pipeline at a time in the engine (it goes on while other pages are shown), its
 * stages' progress, the result, and earlier runs that can be resumed.
 */
class PipelineStore {
  phase = $state<PipelinePhase>('idle');
  jobId = $state<string | null>(null);
  run = $state<string | null>(null);
  /** The model the run in progress trains (a resumed run's own). */
  modelPath = $state<string | null>(null);
  stages = $state<Record<PipelineStage, StageState>>(waiting());
  result = $state.raw<PipelineResultView | null>(null);
  problem = $state.raw<Problem | null>(null);
  runs = $state.raw<PipelineRunInfo[]>([]);
  cancelling = $state(false);

  running = $derived(this.phase === 'starting' || this.phase === 'running');
  current = $derived<PipelineStage | null>(PIPELINE_STAGES.find((s) => this.stages[s].status === 'running') ?? null);

  /** Events that arrive before pipeline.start has answered with the job's id. */
  private early: { jobId: string; apply: () => void }[] = [];

  private route(jobId: string, apply: () => void): void {
    if (jobId === this.jobId) apply();
    else if (this.phase === 'starting' && this.jobId === null) this.early.push({ jobId, apply });
  }

  listen(): () => void {
    const api = getApi();
    const offs = [
      api.on('pipeline.progress', (p) => this.route(p.jobId, () => this.apply(p))),
      api.on('pipeline.done', ({ jobId, result }) => this.route(jobId, () => {
        this.phase = 'done';
        this.result = result;
        this.cancelling = false;
        const modelPath = this.modelPath ?? this.runs.find((r) => r.run === this.run)?.modelPath;
        if (modelPath) void this.useInChat(modelPath, result.adapter);
        void this.loadRuns();
        notifyIfAway(t('pipeline.notifyDoneTitle'), t('pipeline.notifyDoneBody', { pairs: result.pairs, f1: Math.round(100 * result.adapted.f1) }));
      })),
      api.on('pipeline.failed', ({ jobId, error, code }) => this.route(jobId, () => {
        const stage = this.current;
        if (stage) this.stages[stage].status = 'failed';
        this.phase = code === 'CANCELLED' ? 'cancelled' : 'failed';
        this.problem = code === 'CANCELLED' ? null : { key: 'pipeline.failed', params: { error } };
        this.cancelling = false;
        void this.loadRuns();
        if (code !== 'CANCELLED') notifyIfAway(t('pipeline.notifyFailedTitle'), error);
      })),
    ];
    return () => offs.forEach((off) => off());
  }

  /** The Chat page opens on the new adapter and the model it was trained on, however the user gets there. */
  private async useInChat(modelPath: string, adapterPath: string): Promise<void> {
    if (!chatSettings.settings) await chatSettings.load();
    await chatSettings.update({ modelPath, adapterPath });
  }

  private apply(p: PipelineProgressEvent): void {
    this.phase = 'running';
    const s = this.stages[p.stage];
    if (p.status === 'start') s.status = 'running';
    else if (p.status === 'skipped') s.status = 'skipped';
    else if (p.status === 'done') {
      s.status = 'done';
      if (p.count !== null) s.count = p.count;
      if (LONG_STAGES.includes(p.stage) && p.stage !== 'eval') {
        notifyIfAway(t('pipeline.notifyStageTitle', { stage: t(`pipeline.stage.${p.stage}`) }), p.count !== null ? t(`pipeline.count.${p.stage}`, { count: p.count }) : '');
      }
    } else {
      s.status = 'running';
      if (p.done !== null) s.done = p.done;
      if (p.total !== null) s.total = p.total;
      if (p.loss !== null) s.loss = p.loss;
      if (p.etaSeconds !== null) s.etaSeconds = p.etaSeconds;
      if (p.count !== null) s.count = p.count;
      if (p.device !== null) s.device = p.device;
      if (p.fit !== null) s.fit = p.fit;
      if (p.resumedAt !== null && p.resumedAt > 0) s.resumedAt = p.resumedAt;
    }
  }

  async start(args: { modelPath: string; teacher: 'auto' | 'extractive' | 'workspace'; epochs?: number; device: DeviceChoice; precision: PrecisionChoice; resume?: string }): Promise<void> {
    if (this.running) return;
    this.phase = 'starting';
    this.stages = waiting();
    this.result = null;
    this.problem = null;
    this.cancelling = false;
    this.jobId = null;
    this.early = [];
    try {
      const { jobId, run } = await getApi().invoke('pipeline.start', { ...args, paths: [] });
      this.jobId = jobId;
      this.run = run;
      this.modelPath = args.modelPath;
      if (this.phase === 'starting') this.phase = 'running';
      for (const event of this.early.splice(0)) if (event.jobId === jobId) event.apply();
    } catch (err) {
      this.early = [];
      this.phase = 'failed';
      this.problem = problemOf(err);
    }
  }

  async cancel(): Promise<void> {
    if (!this.jobId || !this.running) return;
    this.cancelling = true;
    try {
      await getApi().invoke('pipeline.cancel', { jobId: this.jobId });
    } catch (err) {
      this.cancelling = false;
      this.problem = problemOf(err);
    }
  }

  /** Earlier runs, and the one in progress (a reloaded window follows it again). */
  async loadRuns(): Promise<void> {
    try {
      const { runs, active } = await getApi().invoke('pipeline.runs', {});
      this.runs = runs;
      // While pipeline.start has not answered, the active run is the one being started: its events are held.
      if (this.phase === 'starting') return;
      if (active && active.jobId !== this.jobId) {
        // A run started elsewhere (another window, or before a reload): follow it from here on.
        this.jobId = active.jobId;
        this.run = active.run;
        this.modelPath = runs.find((r) => r.run === active.run)?.modelPath ?? null;
        this.phase = 'running';
        this.result = null;
        this.problem = null;
        this.stages = waiting();
        const info = runs.find((r) => r.run === active.run);
        for (const stage of info?.stages ?? []) this.stages[stage].status = 'done';
      } else if (!active && this.phase === 'running') {
        // The run ended while its events could not reach this window (a lost connection).
        const info = runs.find((r) => r.run === this.run);
        this.phase = info?.finished ? 'idle' : 'cancelled';
        this.cancelling = false;
      }
    } catch (err) {
      this.problem = problemOf(err);
    }
  }
}

export const pipeline = new PipelineStore();

import type { CatalogModel, ModelInfo, ModelsOverview } from '$shared/contract';
import { getApi } from '../lib/api';
import { problemOf, type Problem } from '../lib/problems';

export interface PullState {
  jobId: string | null;
  received: number;
  total: number | null;
  /** paused: stopped on request, the part downloaded so far is kept for resuming. */
  state: 'running' | 'paused' | 'failed' | 'done';
  error: string | null;
}

/**
 * The model manager: the recommended models with what they need on this machine, the models the user has, and
 * downloads in progress (they go on while another page is shown, and resume after an interruption).
 */
class ModelsStore {
  overview = $state.raw<ModelsOverview | null>(null);
  loading = $state(false);
  problem = $state.raw<Problem | null>(null);
  pulls = $state<Record<string, PullState>>({});

  recommended = $derived<CatalogModel | null>(this.overview?.catalog.find((m) => m.id === this.overview?.recommended) ?? null);

  private request = 0;
  private doneListeners: ((id: string, path: string) => void)[] = [];
  /** Events of downloads whose models.pull has not answered with the job id yet. */
  private early: { jobId: string; apply: () => void }[] = [];

  private route(jobId: string, id: string, apply: () => void): void {
    const pull = this.pulls[id];
    if (pull?.jobId === jobId) apply();
    else if (pull && pull.jobId === null) this.early.push({ jobId, apply });
  }

  listen(): () => void {
    const api = getApi();
    const offs = [
      api.on('models.progress', ({ jobId, id, received, total }) =>
        this.route(jobId, id, () => {
          this.pulls[id] = { jobId, received, total, state: 'running', error: null };
        }),
      ),
      api.on('models.done', ({ jobId, id, path }) =>
        this.route(jobId, id, () => {
          this.pulls[id] = { ...this.pulls[id]!, state: 'done', received: this.pulls[id]!.total ?? this.pulls[id]!.received };
          void this.load();
          for (const listener of this.doneListeners) listener(id, path);
        }),
      ),
      api.on('models.failed', ({ jobId, id, error, code }) =>
        this.route(jobId, id, () => {
          this.pulls[id] = { ...this.pulls[id]!, state: code === 'CANCELLED' ? 'paused' : 'failed', error: code === 'CANCELLED' ? null : error };
        }),
      ),
    ];
    return () => offs.forEach((off) => off());
  }

  /** Called with the file once a download this window started has finished. */
  onDownloaded(listener: (id: string, path: string) => void): () => void {
    this.doneListeners.push(listener);
    return () => (this.doneListeners = this.doneListeners.filter((l) => l !== listener));
  }

  async load(refresh = false): Promise<void> {
    const request = ++this.request;
    this.loading = true;
    try {
      const overview = await getApi().invoke('models.overview', refresh ? { refresh: true } : {});
      if (request !== this.request) return;
      this.overview = overview;
      this.problem = null;
    } catch (err) {
      if (request === this.request) this.problem = problemOf(err);
    } finally {
      if (request === this.request) this.loading = false;
    }
  }

  async pull(id: string): Promise<void> {
    if (this.pulls[id]?.state === 'running') return;
    this.pulls[id] = { jobId: null, received: 0, total: null, state: 'running', error: null };
    try {
      const { jobId } = await getApi().invoke('models.pull', { id });
      this.pulls[id] = { ...this.pulls[id]!, jobId };
      const early = this.early.filter((e) => e.jobId === jobId);
      this.early = this.early.filter((e) => e.jobId !== jobId);
      for (const event of early) event.apply();
    } catch (err) {
      this.pulls[id] = { jobId: null, received: 0, total: null, state: 'failed', error: problemOf(err).params?.message?.toString() ?? '' };
    }
  }

  async cancel(id: string): Promise<void> {
    const jobId = this.pulls[id]?.jobId;
    if (jobId) await getApi().invoke('models.cancel', { jobId }).catch(() => undefined);
  }

  /** A file the user picked, checked by the engine before it is used. */
  inspect(path: string): Promise<ModelInfo> {
    return getApi().invoke('models.inspect', { path });
  }
}

export const models = new ModelsStore();

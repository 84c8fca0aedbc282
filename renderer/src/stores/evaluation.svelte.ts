import type { EvalSummary, ResultOf } from '$shared/contract';
import { getApi } from '../lib/api';
import { getLocale } from '../lib/i18n.svelte';
import { problemOf, type Problem } from '../lib/problems';
import { chatSettings } from './chat-settings.svelte';

export type EvalPhase = 'idle' | 'starting' | 'running' | 'done' | 'failed';
export type ReportInfo = ResultOf<'eval.reports'>[number];

/**
 * Evaluation of the chat settings' adapter on its run's held-out pairs, which runs in the engine in the
 * background (it goes on while the window shows another page), and the HTML reports of the workspace.
 */
class EvaluationStore {
  phase = $state<EvalPhase>('idle');
  jobId = $state<string | null>(null);
  /** Whether the run in progress was asked for with retrieval (the summary says it once done). */
  rag = $state(false);
  cancelling = $state(false);
  progress = $state.raw<{ done: number; total: number } | null>(null);
  summary = $state.raw<EvalSummary | null>(null);
  problem = $state.raw<Problem | null>(null);

  reports = $state.raw<ReportInfo[]>([]);
  reportsProblem = $state.raw<Problem | null>(null);
  /** The report shown in the frame, its HTML, and its loading state. */
  reportName = $state<string | null>(null);
  reportHtml = $state('');
  reportLoading = $state(false);
  reportProblem = $state.raw<Problem | null>(null);
  /** The scores of the report shown (null: it has no data beside it; its own table shows them then). */
  reportSummary = $state.raw<EvalSummary | null>(null);
  /** The scores the panel shows: those of the report in the frame, or of the run that has just ended. */
  shown = $derived(this.reportName ? this.reportSummary : this.summary);

  running = $derived(this.phase === 'starting' || this.phase === 'running');
  fraction = $derived(this.progress && this.progress.total > 0 ? this.progress.done / this.progress.total : 0);

  private early: { jobId: string; apply: () => void }[] = [];
  private reportsRequest = 0;
  private reportRequest = 0;

  listen(): () => void {
    const api = getApi();
    const offs = [
      api.on('eval.progress', ({ jobId, done, total }) =>
        this.route(jobId, () => {
          this.phase = 'running';
          this.progress = { done, total };
        }),
      ),
      api.on('eval.done', ({ jobId, summary }) =>
        this.route(jobId, () => {
          this.phase = 'done';
          this.summary = summary;
          this.progress = { done: summary.n, total: summary.n };
          // Its scores show at once, while its report loads.
          this.reportName = summary.report;
          this.reportSummary = summary;
          void this.loadReports();
          void this.openReport(summary.report);
        }),
      ),
      api.on('eval.failed', ({ jobId, error, code }) =>
        this.route(jobId, () => {
          this.phase = code === 'CANCELLED' ? 'idle' : 'failed';
          this.cancelling = false;
          this.problem = code === 'CANCELLED' ? null : { key: 'eval.failed', params: { error } };
        }),
      ),
    ];
    return () => offs.forEach((off) => off());
  }

  /** Starts an evaluation; with `judge`, the workspace's teacher grades every answer too. */
  async start(rag: boolean, judge: boolean): Promise<void> {
    if (this.running) return;
    this.phase = 'starting';
    this.cancelling = false;
    this.jobId = null;
    this.rag = rag;
    this.progress = null;
    this.summary = null;
    this.problem = null;
    this.early = [];
    try {
      // The engine evaluates the adapter of its settings: changes still being saved must reach it first.
      await chatSettings.settled();
      const { jobId } = await getApi().invoke('eval.run', { rag, judge });
      this.jobId = jobId;
      if (this.phase === 'starting') this.phase = 'running';
      for (const event of this.early.splice(0)) if (event.jobId === jobId) event.apply();
    } catch (err) {
      this.early = [];
      this.problem = problemOf(err);
      this.phase = 'failed';
    }
  }

  async cancel(): Promise<void> {
    if (!this.jobId || !this.running) return;
    this.cancelling = true;
    try {
      await getApi().invoke('eval.cancel', { jobId: this.jobId });
    } catch (err) {
      this.cancelling = false;
      this.problem = problemOf(err);
    }
  }

  async loadReports(): Promise<void> {
    const request = ++this.reportsRequest;
    try {
      const reports = await getApi().invoke('eval.reports', {});
      if (request !== this.reportsRequest) return;
      this.reports = reports;
      this.reportsProblem = null;
    } catch (err) {
      if (request === this.reportsRequest) this.reportsProblem = problemOf(err);
    }
  }

  /** Shows a report, in the UI's language and without the score table the panel shows from its summary. */
  async openReport(fileName: string): Promise<void> {
    const request = ++this.reportRequest;
    if (fileName !== this.reportName) this.reportSummary = null;
    this.reportName = fileName;
    this.reportLoading = true;
    this.reportProblem = null;
    try {
      const { html, summary } = await getApi().invoke('eval.report', { fileName, lang: getLocale(), embedded: true });
      if (request !== this.reportRequest) return;
      this.reportHtml = html;
      this.reportSummary = summary ?? null;
    } catch (err) {
      if (request !== this.reportRequest) return;
      this.reportHtml = '';
      this.reportSummary = null;
      this.reportProblem = problemOf(err);
    } finally {
      if (request === this.reportRequest) this.reportLoading = false;
    }
  }

  private route(jobId: string, apply: () => void): void {
    if (jobId === this.jobId) apply();
    else if (this.phase === 'starting' && this.jobId === null) this.early.push({ jobId, apply });
  }
}

export const evaluation = new EvaluationStore();

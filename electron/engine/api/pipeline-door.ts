/**
 * The "New adapter" wizard's engine side: the whole pipeline (import → generate → accept → train → evaluate →
 * export) in the app's own workspace, so each stage's result stays reviewable on its page afterwards (the
 * documents, the training set, the adapter in the chat, the report in the evaluation). One run at a time;
 * its progress goes out as pipeline.* events; a run stopped or interrupted resumes where it stopped.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { PIPELINE_STAGES, type EventName, type EventOf, type PipelineRunInfo, type PipelineStartArgs } from '../../shared/contract.js';
import type { TeacherChoice } from '../dataset/generate.js';
import { DocTuneError, toWireError } from '../errors.js';
import { PIPELINE_TRAIN_DEFAULTS, runPipeline, type PipelineOptions, type PipelineProgress, type PipelineResult } from '../pipeline/pipeline.js';
import { resolveModelArg } from '../models/model-arg.js';
import { teacherChoiceOf } from './teacher-spec.js';
import type { JobSlots } from './job-slots.js';
import type { Workspace } from '../store/workspace.js';
import { readPipelineState } from '../pipeline/pipeline-state.js';
import { logged } from '../log.js';

export { PIPELINE_TRAIN_DEFAULTS, type PipelineProgress };

type StartArgs = z.infer<typeof PipelineStartArgs>;

/** The progress line the UI shows for one pipeline event (null: nothing worth sending). */
export function progressView(p: PipelineProgress): Omit<EventOf<'pipeline.progress'>, 'jobId' | 'run'> | null {
  const base = { stage: p.stage, status: p.status, done: null, total: null, loss: null, etaSeconds: null, count: null, device: null, fit: null, resumedAt: null };
  if (p.status === 'start' || p.status === 'skipped') return base;
  if (p.status === 'done') {
    const s = p.summary as Record<string, unknown>;
    const count = p.stage === 'ingest' ? Number(s.documents ?? 0) + Number(s.unchanged ?? 0)
      : p.stage === 'generate' ? Number(s.pairs ?? 0)
        : p.stage === 'accept' ? Number(s.accepted ?? 0)
          : p.stage === 'train' ? Number(s.steps ?? 0)
            : p.stage === 'eval' ? Number(s.n ?? 0) : null;
    return { ...base, count };
  }
  const q = p as Extract<PipelineProgress, { status: 'progress' }>;
  if (q.stage === 'generate') return { ...base, done: q.done, total: q.total, count: q.pairs };
  if (q.stage === 'eval') return { ...base, done: q.done, total: q.total };
  const e = q.event;
  if (e.type === 'plan') return { ...base, device: `${`${e.device.backend} ${e.device.description}`.trim()}, ${e.precision}${e.checkpointing ? ', checkpointing' : ''}` };
  if (e.type === 'prepared') {
    const { seq, conversations, examples, split, parts, dropped } = e.fit;
    return { ...base, fit: { seq, conversations, examples, split, parts, dropped } };
  }
  if (e.type === 'start') return { ...base, done: e.resumedAt, total: e.totalSteps, resumedAt: e.resumedAt };
  if (e.type === 'step') return { ...base, done: e.step, total: e.totalSteps, loss: e.loss, etaSeconds: e.etaSeconds };
  return null;
}

export class PipelineDoor {
  constructor(
    private readonly ws: () => Promise<Workspace>,
    private readonly teacher: () => Promise<TeacherChoice>,
    private readonly emit: <E extends EventName>(event: E, payload: EventOf<E>) => void,
    private readonly threads: number | undefined,
    private readonly jobs: JobSlots,
  ) {}

  private async runsDir(): Promise<string> {
    return path.join((await this.ws()).dir, 'runs');
  }

  async start(a: StartArgs): Promise<{ jobId: string; run: string }> {
    const run = a.resume ?? `pipeline-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    const { jobId } = await this.jobs.start({
      kind: 'pipeline',
      key: run,
      // Set-up (reading the run to resume, loading the teacher settings) is the request's answer.
      setup: async () => {
        const ws = await this.ws();
        const outDir = path.join(await this.runsDir(), run);
        // A resumed run goes on with the teacher and epochs it began with, whatever the wizard shows now.
        const before = a.resume ? await this.readRun(a.resume) : null;
        if (a.resume && !before) throw new DocTuneError('NOT_FOUND', `no pipeline run ${a.resume} to resume`, { path: outDir });
        const teacherOption = before?.teacher ?? a.teacher;
        const epochs = before?.epochs ?? a.epochs;
        const teacher = teacherOption === 'workspace' ? await this.teacher() : teacherOption;
        return { ws, outDir, before, teacherOption, epochs, teacher };
      },
      run: ({ ws, outDir, before, teacherOption, epochs, teacher }, job) =>
        runPipeline({
          inputs: a.paths, modelPath: path.resolve(before?.modelPath ?? a.modelPath), teacher, outDir, workspace: ws, device: a.device, precision: a.precision, ...(this.threads ? { threads: this.threads } : {}),
          choices: { teacher: teacherOption, ...(epochs ? { epochs } : {}) },
          ...(epochs ? { train: { epochs } } : {}),
          signal: job.signal,
          onProgress: (p) => {
            const view = progressView(p);
            if (view) this.emit('pipeline.progress', { jobId: job.id, run, ...view });
          },
        }).then(
          (r) => {
            // Free before the event goes out: a listener may start the next run at once.
            job.release();
            this.emit('pipeline.done', {
              jobId: job.id, run,
              result: { adapter: r.adapter, modelfile: r.modelfile, howto: r.howto, report: path.basename(r.evalReport), pairs: r.pairs, ...r.scores },
            });
          },
          (err: unknown) => {
            job.release();
            const e = toWireError(err);
            this.emit('pipeline.failed', { jobId: job.id, run, error: e.message, code: e.code });
          },
        ),
    });
    return { jobId, run };
  }

  cancel(jobId: string): { cancelled: boolean } {
    return { cancelled: this.jobs.cancel(jobId, 'pipeline') };
  }

  /** A teacher named in one string: auto (the model itself if it is an instruct model, else extractive), or as teacherChoiceOf reads it. */
  teacherOf(spec: string): TeacherChoice | 'auto' {
    return spec === 'auto' ? 'auto' : teacherChoiceOf(spec, { concurrency: 4, ...(this.threads ? { threads: this.threads } : {}) });
  }

  /**
   * A whole run in a folder of its own, with its own workspace inside (`doctune pipeline`): the model named
   * as a path, hf: URI or Ollama name (downloaded first if need be), the teacher as teacherOf reads it.
   * In the pipeline's slot; rerun to resume.
   */
  async runInFolder(o: {
    inputs: string[]; model: string; outDir: string; teacher: TeacherChoice | 'auto'; device?: PipelineOptions['device']; precision?: PipelineOptions['precision'];
    train?: PipelineOptions['train']; signal?: AbortSignal; onProgress?: (p: PipelineProgress) => void; onDownload?: (received: number, total: number | null) => void;
  }): Promise<PipelineResult> {
    return this.jobs.run('pipeline', async (job) => {
      const modelPath = await resolveModelArg(o.model, o.onDownload);
      return runPipeline({
        inputs: o.inputs, modelPath, outDir: o.outDir, teacher: o.teacher, ...(this.threads ? { threads: this.threads } : {}),
        ...(o.device ? { device: o.device } : {}), ...(o.precision ? { precision: o.precision } : {}), ...(o.train ? { train: o.train } : {}),
        signal: job.signal, ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      });
    }, o.signal ? { signal: o.signal } : {});
  }


  /** One run's record (null: no such run, or not started far enough to have one; a damaged one is logged). */
  private async readRun(name: string): Promise<PipelineRunInfo | null> {
    const file = path.join(await this.runsDir(), name, 'pipeline.json');
    const state = await readPipelineState(file).catch(logged('reading a pipeline run', { path: file }));
    if (!state) return null;
    const stages = PIPELINE_STAGES.filter((s) => state.stages[s]);
    const updatedAt = (await fs.stat(file)).mtime.toISOString();
    return { run: name, modelPath: state.model, stages, finished: stages.includes('export'), teacher: state.choices?.teacher ?? null, epochs: state.choices?.epochs ?? null, updatedAt };
  }

  async runs(): Promise<{ runs: PipelineRunInfo[]; active: { jobId: string; run: string } | null }> {
    const names = (await fs.readdir(await this.runsDir()).catch(() => [] as string[])).filter((n) => n.startsWith('pipeline-'));
    const runs = (await Promise.all(names.map((n) => this.readRun(n)))).filter((r): r is PipelineRunInfo => r !== null);
    runs.sort((x, y) => y.updatedAt.localeCompare(x.updatedAt));
    const active = this.jobs.current('pipeline');
    return { runs, active: active ? { jobId: active.id, run: active.key! } : null };
  }

  async close(): Promise<void> {
    await this.jobs.close(['pipeline']);
  }
}

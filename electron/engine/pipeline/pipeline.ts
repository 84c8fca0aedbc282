/**
 * `doctune pipeline`: documents to a tested adapter in one run — ingest → generate QA pairs → accept what
 * passed the quality checks → train → evaluate → export — with one progress stream across the stages. Each
 * stage's completion is recorded in <out>/pipeline.json; running the same command again skips finished
 * stages and resumes the one that was interrupted (import skips unchanged files, generation skips answered
 * passages, training continues from its checkpoint).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { acceptPipelinePairs, generatePairs, type GenerateSummary, type TeacherChoice } from '../dataset/generate.js';
import { DocTuneError } from '../errors.js';
import { runEval, type EvalResult } from '../eval/run-eval.js';
import { ingestPaths } from '../ingest/ingest-files.js';
import { DocumentParser } from '../ingest/parse-pool.js';
import { metaString, readGguf } from '../models/gguf/gguf-reader.js';
import { acceptedConversations } from '../store/qa-store.js';
import { Workspace } from '../store/workspace.js';
import type { DeviceChoice, Precision } from '../train/native-addon.js';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../train/train-config.js';
import { CHECKPOINT_FILE, type TrainResult } from '../train/train-loop.js';
import { runTraining, type TrainProgress } from '../train/train-supervisor.js';
import { writeFileAtomic } from '../atomic-write.js';
import { PIPELINE_STAGES } from '../../shared/pipeline-schemas.js';
import { PIPELINE_STATE_VERSION, readPipelineState, writePipelineState, type PipelineState } from './pipeline-state.js';

export const STAGES = PIPELINE_STAGES;
export type Stage = (typeof STAGES)[number];

/**
 * What a pipeline run trains with unless told otherwise: long answers are fitted to the sequence length
 * (split at sentences, the question repeated) rather than refused, since the run is unattended.
 */
export const PIPELINE_TRAIN_DEFAULTS: Omit<TrainConfig, 'modelPath'> = { ...DEFAULT_TRAIN_CONFIG, evalSplit: 0.1, longSequences: 'fit' };

export interface PipelineOptions {
  /** Documents to import (none: train on the workspace's documents as they are). */
  inputs: string[];
  modelPath: string;
  /** auto: the model itself when it is an instruct model (it has a chat template), else extractive. */
  teacher?: TeacherChoice | 'auto';
  outDir: string;
  /**
   * An open workspace to work in (the app's), left open. Without it the pipeline keeps its own workspace in
   * <out>/workspace and the run in <out>/run; with it the run is written to <out> itself.
   */
  workspace?: Workspace;
  /** Recorded in pipeline.json when the run begins (a resume keeps the first ones). */
  choices?: PipelineState['choices'];
  train?: Partial<Omit<TrainConfig, 'modelPath'>>;
  device?: DeviceChoice;
  /** Like the device, today's choice: a resumed run may take another. */
  precision?: Precision;
  threads?: number;
  signal?: AbortSignal;
  onProgress?: (p: PipelineProgress) => void;
}

export type PipelineProgress =
  | { stage: Stage; status: 'start' | 'skipped' }
  | { stage: Stage; status: 'done'; summary: unknown }
  | { stage: 'generate'; status: 'progress'; done: number; total: number; pairs: number }
  | { stage: 'train'; status: 'progress'; event: TrainProgress }
  | { stage: 'eval'; status: 'progress'; done: number; total: number };

export interface PipelineResult {
  adapter: string;
  modelfile: string;
  howto: string;
  run: string;
  /** The report copied into the output folder, and where the evaluation wrote it (the workspace's reports). */
  report: string;
  evalReport: string;
  scores: Omit<EvalResult, 'items' | 'report' | 'failures'>;
  pairs: number;
  out: string;
}

/** The training data of a run, fixed when training first starts so that a resume trains on the same pairs. */
export const TRAINING_DATA_FILE = 'training-data.jsonl';

/** The run's record, or a fresh one (first run, or a run of another model in the same folder). */
async function readState(file: string, model: string): Promise<PipelineState> {
  const s = await readPipelineState(file);
  return s && s.model === model ? s : { version: PIPELINE_STATE_VERSION, model, stages: {} };
}

const exists = (file: string): Promise<boolean> => fs.access(file).then(() => true, () => false);

async function writeState(file: string, s: PipelineState): Promise<void> {
  await writePipelineState(file, s);
}

/** The model teaches itself only if it is an instruct model: a base model would write nonsense. */
export async function defaultTeacher(modelPath: string, threads: number | undefined): Promise<TeacherChoice> {
  const model = await readGguf(modelPath);
  return metaString(model, 'tokenizer.chat_template') ? { local: modelPath, parallel: 4, ...(threads ? { threads } : {}) } : 'extractive';
}

export async function runPipeline(o: PipelineOptions): Promise<PipelineResult> {
  const out = path.resolve(o.outDir);
  await fs.mkdir(out, { recursive: true });
  const stateFile = path.join(out, 'pipeline.json');
  const state = await readState(stateFile, path.resolve(o.modelPath));
  // Unset: each model and the trainer take the physical cores free when they start.
  const threads = o.threads;
  // The pairs this run writes carry its name, so that it accepts exactly those.
  const batch = path.basename(out).startsWith('pipeline-') ? path.basename(out) : `pipeline-${path.basename(out)}`;
  const progress = (p: PipelineProgress): void => o.onProgress?.(p);
  const wsDir = o.workspace ? o.workspace.dir : path.join(out, 'workspace');
  const runDir = o.workspace ? out : path.join(out, 'run');
  const dataFile = path.join(out, TRAINING_DATA_FILE);
  if (o.choices && !state.choices) {
    state.choices = o.choices;
    await writeState(stateFile, state);
  }
  if (!state.snapshot) {
    // A new run, another model, or a folder from before snapshots: what training left there is not this run's.
    await fs.rm(dataFile, { force: true });
    await fs.rm(path.join(runDir, CHECKPOINT_FILE), { force: true, recursive: true });
  }
  const openWorkspace = async (): Promise<{ ws: Workspace; close(): void }> => {
    if (o.workspace) return { ws: o.workspace, close: () => undefined };
    const ws = await Workspace.open(wsDir);
    return { ws, close: () => ws.close() };
  };

  const stage = async <T>(name: Stage, work: () => Promise<T>): Promise<T> => {
    const done = state.stages[name];
    if (done) {
      progress({ stage: name, status: 'skipped' });
      return done.summary as T;
    }
    if (o.signal?.aborted) throw new DocTuneError('CANCELLED', `stopped before ${name}; run the same command again to continue`);
    progress({ stage: name, status: 'start' });
    const summary = await work();
    state.stages[name] = { at: new Date().toISOString(), summary };
    await writeState(stateFile, state);
    progress({ stage: name, status: 'done', summary });
    return summary;
  };

  const { ws, close } = await openWorkspace();
  let pairs = 0;
  try {
    await stage('ingest', async () => {
      if (!o.inputs.length) {
        const documents = (await ws.counts()).documents;
        if (!documents) throw new DocTuneError('BAD_ARGUMENT', 'the workspace has no documents: add some first');
        return { documents: 0, unchanged: documents, errors: [] };
      }
      const parser = new DocumentParser();
      try {
        const s = await ingestPaths(ws, o.inputs.map((p) => path.resolve(p)), { parser, ...(o.signal ? { signal: o.signal } : {}) });
        if (s.documents + s.unchanged === 0) throw new DocTuneError('BAD_ARGUMENT', `nothing could be imported: ${s.errors.map((e) => `${e.path}: ${e.reason}`).join('; ') || 'no documents'}`);
        return s;
      } finally {
        await parser.close();
      }
    });
    await stage<GenerateSummary>('generate', async () =>
      generatePairs(ws, {
        teacher: o.teacher && o.teacher !== 'auto' ? o.teacher : await defaultTeacher(o.modelPath, threads),
        batch,
        ...(o.signal ? { signal: o.signal } : {}),
        onProgress: (p) => progress({ stage: 'generate', status: 'progress', done: p.done, total: p.total, pairs: p.pairs }),
      }));
    // Pairs pipeline runs wrote that passed the grounding check and the near-duplicate filter are accepted;
    // pairs generated for review on the Training set page stay pending.
    await stage('accept', async () => ({ accepted: await acceptPipelinePairs(ws) }));
    // Training reads a snapshot, not the workspace: the workspace may change (and is open in this process)
    // while the training process runs, and a resumed run must see the same data.
    if (!state.snapshot) {
      // Pairs of removed documents are left out; the Training set page says how many.
      const { conversations } = await acceptedConversations(ws);
      if (!conversations.length) {
        const waiting = await ws.qaTable().then((t) => t.countRows("status = 'pending'"));
        throw new DocTuneError('BAD_ARGUMENT', waiting
          ? `no accepted QA pairs to train on, and ${waiting} await review: accept them on the Training set page (or doctune dataset accept), then run again`
          : 'no QA pairs to train on (the documents gave none that passed the quality checks)');
      }
      await writeFileAtomic(dataFile, `${conversations.map((messages) => JSON.stringify({ messages })).join('\n')}\n`);
      state.snapshot = { conversations: conversations.length };
      await writeState(stateFile, state);
    }
    pairs = state.snapshot.conversations;
  } finally {
    close();
  }

  const trained = await stage<TrainResult>('train', async () => {
    if (!state.train) {
      const { device: _d, threads: _t, precision: _p, ...train } = o.train ?? {};
      state.train = train;
      await writeState(stateFile, state);
    }
    // The device and precision are today's choice: a checkpoint resumes on another device (after a driver
    // failure, say) and at another precision.
    const config: TrainConfig = {
      ...PIPELINE_TRAIN_DEFAULTS, threads: threads ?? 0, ...state.train, ...(o.device ? { device: o.device } : {}),
      ...(o.precision ? { precision: o.precision } : {}), modelPath: path.resolve(o.modelPath),
    };
    const resume = await exists(path.join(runDir, CHECKPOINT_FILE));
    let saved: { step: number; of: number } | null = null;
    let total = 0;
    try {
      return await runTraining(
        { config, dataFile, outDir: runDir, ...(resume ? { resumeFrom: runDir } : {}) },
        {
          ...(o.signal ? { signal: o.signal } : {}),
          onEvent: (event) => {
            if (event.type === 'start') total = event.totalSteps;
            if (event.type === 'checkpoint') saved = { step: event.step, of: total };
            progress({ stage: 'train', status: 'progress', event });
          },
        },
      );
    } catch (err) {
      // The trainer's own advice names `train --resume`; here the same command continues, from the checkpoint.
      const at = saved as { step: number; of: number } | null;
      if (err instanceof DocTuneError && err.code === 'CANCELLED') {
        throw new DocTuneError('CANCELLED', `stopped${at ? ` at step ${at.step} of ${at.of}, saved` : ' before the first step'}; run the same command again to continue from there`);
      }
      if (err instanceof DocTuneError && err.code === 'INTERNAL' && /training process stopped/.test(err.message)) {
        throw new DocTuneError('INTERNAL', `${err.message.replace(/; resume from the last checkpoint with --resume$/, '')}; ` +
          `${at ? `the checkpoint at step ${at.step} of ${at.of} is kept` : 'no checkpoint was written yet'}: run the same command again to continue`);
      }
      throw err;
    }
  });

  const evaluated = await stage('eval', async () => {
    const w = await openWorkspace();
    try {
      // Retrieved passages are fitted to the model's context, so even a small model is scored with them.
      const { items: _items, ...r } = await runEval({
        modelPath: o.modelPath, adapterPath: trained.adapter, runPath: trained.run, workspace: w.ws, rag: true, ...(threads ? { threads } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
        onProgress: (done, total) => progress({ stage: 'eval', status: 'progress', done, total }),
      });
      return r;
    } finally {
      w.close();
    }
  });

  const exported = await stage('export', async () => {
    // Everything the user takes away, in the output folder itself.
    const report = path.join(out, 'eval-report.html');
    if (path.resolve(evaluated.report) !== report) await fs.copyFile(evaluated.report, report);
    return { adapter: trained.adapter, modelfile: trained.modelfile, howto: trained.howto, run: trained.run, report, evalReport: evaluated.report };
  });
  const { report: _r, failures: _f, ...scores } = evaluated;
  return { ...exported, scores, pairs, out };
}

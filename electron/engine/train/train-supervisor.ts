import fs from 'node:fs';
import { DocTuneError, type ErrorCode } from '../errors.js';
import { readGguf } from '../models/gguf/gguf-reader.js';
import { trainability } from '../models/trainability.js';
import type { TrainResult } from './train-loop.js';
import type { TrainRequest, WorkerMessage } from './train-worker.js';
import { launchWorker, type WorkerHandle } from '../worker-launcher.js';
import { workerEntry } from '../worker-entry.js';

export type TrainProgress = Extract<WorkerMessage, { type: 'event' }>['event'];

export interface SuperviseOptions {
  onEvent?: (e: TrainProgress) => void;
  /** The training process id, once started (for the UI's status, and for tests that kill it). */
  onSpawn?: (pid: number) => void;
  signal?: AbortSignal;
}

/** The worker process that runs native trainer code (training, device probing). */
export function forkTrainWorker(): WorkerHandle {
  const entry = workerEntry(import.meta.url, 'train-worker');
  return launchWorker(entry.file, entry.execArgv, { ...process.env, GGML_NO_BACKTRACE: '1' });
}

/** Refuse what cannot be trained before starting a process for it. */
async function preflight(req: TrainRequest): Promise<void> {
  const verdict = trainability(await readGguf(req.config.modelPath));
  if (!verdict.trainable) throw new DocTuneError('MODEL', verdict.reason ?? 'this model cannot be trained', { path: req.config.modelPath });
  if (!req.dataFile === !req.workspace) throw new DocTuneError('BAD_ARGUMENT', 'train from a data file or from a workspace (one of them)');
  if (req.dataFile && !fs.existsSync(req.dataFile)) throw new DocTuneError('NOT_FOUND', 'training data file not found', { path: req.dataFile });
  if (req.workspace && !fs.existsSync(req.workspace)) throw new DocTuneError('NOT_FOUND', 'workspace folder not found', { path: req.workspace });
}

/**
 * Train in a supervised child process. A native abort (ggml asserts) or an out-of-memory kill ends only the
 * child; the caller gets a DocTuneError and whatever checkpoint was written stays usable for --resume.
 */
export async function runTraining(req: TrainRequest, options: SuperviseOptions = {}): Promise<TrainResult> {
  await preflight(req);
  const child = forkTrainWorker();
  if (child.pid !== undefined) options.onSpawn?.(child.pid);
  let stderr = '';
  child.onStderr((text) => {
    stderr = (stderr + text).slice(-4000);
  });
  const onAbort = (): void => {
    child.send({ type: 'cancel' });
  };
  options.signal?.addEventListener('abort', onAbort);
  try {
    return await new Promise<TrainResult>((resolve, reject) => {
      let settled = false;
      child.onMessage((message) => {
        const m = message as WorkerMessage;
        if (m.type === 'event') options.onEvent?.(m.event);
        else if (m.type === 'done') {
          settled = true;
          resolve(m.result);
        } else if (m.type === 'error') {
          settled = true;
          reject(new DocTuneError(m.error.code as ErrorCode, m.error.message, m.error.path ? { path: m.error.path } : undefined));
        }
      });
      child.onExit((code, signal) => {
        if (settled) return;
        const last = stderr.trim().split('\n').filter(Boolean).slice(-3).join(' | ');
        reject(new DocTuneError('INTERNAL', `the training process stopped (${signal ?? `exit ${code}`})${last ? `: ${last}` : ''}; resume from the last checkpoint with --resume`));
      });
      child.send({ type: 'start', request: req });
    });
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    if (!child.exited()) child.kill();
  }
}

/**
 * Training a LoRA adapter on a GGUF model, as a request names it: the model (a path, hf: URI or Ollama
 * name), the data (a file, or the engine's workspace's accepted pairs), the output folder and any settings
 * that differ from DocTune's defaults. The work runs in a supervised child process (train-supervisor).
 */
import path from 'node:path';
import { CHECKPOINTING, DEVICE_CHOICES, LONG_SEQUENCES, LORA_TARGETS, PRECISION_CHOICES } from '../../shared/pipeline-schemas.js';
import { DocTuneError } from '../errors.js';
import { resolveModelArg } from '../models/model-arg.js';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../train/train-config.js';
import { runTraining, type TrainProgress } from '../train/train-supervisor.js';
import type { TrainResult } from '../train/train-loop.js';

/** How a memory plan and sizes are said in progress lines. */
export { describePlan, mib } from '../train/memory-plan.js';
export type { TrainProgress };

/** The settings a run takes when a request leaves them out (the command line's defaults are these). */
export const TRAIN_DEFAULTS = DEFAULT_TRAIN_CONFIG;

export interface TrainRequest {
  /** The base model: a GGUF path, hf:OWNER/REPO/FILE.gguf, or an Ollama model name. */
  model: string;
  /** Training data (Alpaca, ShareGPT or OpenAI-messages JSON/JSONL); without it, the workspace's accepted pairs. */
  dataFile?: string | undefined;
  outDir: string;
  /** A run folder whose checkpoint to continue from. */
  resumeFrom?: string | undefined;
  /** Settings that differ from TRAIN_DEFAULTS; threads 0 or absent: the physical cores free when training starts. */
  settings?: Partial<Omit<TrainConfig, 'modelPath'>>;
}

/** A choice from a fixed list, checked here as well as by the caller's own parsing. */
function oneOf<T extends string>(what: string, value: T, choices: readonly string[]): T {
  if (!choices.includes(value)) throw new DocTuneError('BAD_ARGUMENT', `unknown ${what} ${value} (${choices.join(', ')})`);
  return value;
}

export class TrainDoor {
  constructor(private readonly workspaceDir: () => string | undefined, private readonly threads: number | undefined) {}

  /** The run's whole configuration: the defaults, the request's settings, the model resolved (downloaded if need be). */
  async config(r: TrainRequest): Promise<TrainConfig> {
    const c: TrainConfig = { ...TRAIN_DEFAULTS, ...r.settings, modelPath: await resolveModelArg(r.model) };
    oneOf('device', c.device, DEVICE_CHOICES);
    oneOf('precision', c.precision, PRECISION_CHOICES);
    oneOf('checkpointing', c.checkpointing, CHECKPOINTING);
    oneOf('long-sequence mode', c.longSequences, LONG_SEQUENCES);
    for (const t of c.targets) oneOf('LoRA target', t, LORA_TARGETS);
    if (!c.targets.length) throw new DocTuneError('BAD_ARGUMENT', `choose at least one LoRA target (${LORA_TARGETS.join(', ')})`);
    if (!(c.rank >= 1)) throw new DocTuneError('BAD_ARGUMENT', 'the LoRA rank must be at least 1');
    return { ...c, batch: Math.max(1, c.batch), accum: Math.max(1, c.accum), threads: c.threads ? Math.max(1, c.threads) : (this.threads ?? 0) };
  }

  /** Train to the end (or to the signal, after a checkpoint); the caller sees each stage's events. */
  async train(r: TrainRequest, o: { signal?: AbortSignal; onEvent?: (e: TrainProgress) => void } = {}): Promise<TrainResult> {
    const workspace = this.workspaceDir();
    if (!r.dataFile === !workspace) throw new DocTuneError('BAD_ARGUMENT', 'give the training data as a file or as a workspace (one of them)');
    return runTraining(
      {
        config: await this.config(r),
        ...(r.dataFile ? { dataFile: path.resolve(r.dataFile) } : { workspace: path.resolve(workspace!) }),
        outDir: path.resolve(r.outDir),
        ...(r.resumeFrom ? { resumeFrom: path.resolve(r.resumeFrom) } : {}),
      },
      { ...(o.signal ? { signal: o.signal } : {}), ...(o.onEvent ? { onEvent: o.onEvent } : {}) },
    );
  }
}

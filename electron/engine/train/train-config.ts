import { createHash } from 'node:crypto';
import type { LongSequences } from './sequence-length.js';
import { LORA_TARGETS, type DeviceChoice, type LoraTarget, type Precision } from './native-addon.js';
import { DEFAULT_EPOCHS } from '../../shared/pipeline-schemas.js';

export interface TrainConfig {
  modelPath: string;
  rank: number;
  alpha: number;
  targets: LoraTarget[];
  epochs: number;
  lr: number;
  /** Sequences per micro-batch: one graph, padded to the longest of them. */
  batch: number;
  /** Batches accumulated before each AdamW update. */
  accum: number;
  /** Longest sequence in tokens; 0: auto (the model's context, at most AUTO_SEQ_CAP). */
  seq: number;
  /** What to do with a longer conversation. */
  longSequences: LongSequences;
  evalSplit: number;
  seed: number;
  /** CPU threads; 0: the physical cores free when training starts. */
  threads: number;
  weightDecay: number;
  clip: number;
  warmupRatio: number;
  /** Optimizer steps between checkpoints (and one at the end). */
  checkpointEvery: number;
  /** Where the step runs (auto: CUDA, then Vulkan or Metal, then the CPU). */
  device: DeviceChoice;
  /** Operands of the step's products (auto: the fastest on the device, measured when training starts). */
  precision: Precision;
  /**
   * Activation checkpointing (each layer recomputed in the backward): auto turns it on when the step
   * would not fit otherwise; on and off force it.
   */
  checkpointing: 'auto' | 'on' | 'off';
}

export { CHECKPOINTING } from '../../shared/pipeline-schemas.js';

export const DEFAULT_TRAIN_CONFIG: Omit<TrainConfig, 'modelPath'> = {
  rank: 16,
  alpha: 32,
  targets: [...LORA_TARGETS],
  epochs: DEFAULT_EPOCHS,
  lr: 2e-4,
  batch: 4,
  accum: 1,
  seq: 0,
  longSequences: 'refuse',
  evalSplit: 0.1,
  seed: 42,
  threads: 0,
  weightDecay: 0,
  clip: 1,
  warmupRatio: 0.1,
  checkpointEvery: 50,
  device: 'auto',
  precision: 'auto',
  checkpointing: 'auto',
};

/** Linear warmup, then cosine decay to a tenth of the peak. */
export function learningRate(config: Pick<TrainConfig, 'lr' | 'warmupRatio'>, step: number, total: number): number {
  const warmup = Math.max(1, Math.round(total * config.warmupRatio));
  if (step < warmup) return (config.lr * (step + 1)) / warmup;
  const progress = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
  return config.lr * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/** Deterministic uniform numbers in [0, 1) (mulberry32): data order, test models and benchmarks. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Deterministic shuffle (Fisher–Yates): the same seed gives the same data order. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const next = mulberry32(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** What a resumed run must share with the interrupted one. */
export function fingerprint(config: TrainConfig, modelSha: string, data: { tokens: number[] }[]): string {
  const h = createHash('sha256');
  // Where and how fast it runs does not change what is learned: a run may resume on another device, at
  // another precision, with or without checkpointing (the gradients are the same).
  const { checkpointEvery: _c, threads: _t, device: _d, precision: _p, checkpointing: _k, ...rest } = config;
  h.update(JSON.stringify(rest)).update(modelSha);
  for (const d of data) h.update(Buffer.from(Int32Array.from(d.tokens).buffer));
  return h.digest('hex');
}

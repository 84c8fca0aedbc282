/**
 * Schemas of the model manager and the one-step pipeline ("New adapter"), used by the contract's channels and
 * events (contract.ts). Kept apart only for size: the contract module is still the one place channels live.
 */
import { z } from 'zod';

/** Where a model runs for chat or for training on this machine, as the memory estimate puts it. */
export const ModelPlacement = z.object({
  runsOn: z.enum(['gpu', 'cpu', 'none']),
  device: z.string().nullable(),
  needed: z.number(),
  available: z.number(),
  reason: z.string(),
});

/** A curated model, with what it needs here and where it is once downloaded. */
export const CatalogModel = z.object({
  id: z.string(),
  name: z.string(),
  family: z.string(),
  parameters: z.number(),
  quant: z.string(),
  uri: z.string(),
  /** Approximate download size. */
  bytes: z.number(),
  licence: z.string(),
  /** The licence's own terms, when the publisher has them (Gemma Terms of Use). */
  terms: z.string().url().optional(),
  commercialUse: z.boolean(),
  languages: z.array(z.string()),
  chat: ModelPlacement,
  training: ModelPlacement.extend({ batch: z.number().int() }),
  /** The downloaded file, or null. */
  path: z.string().nullable(),
});
export type CatalogModel = z.infer<typeof CatalogModel>;

/** A GGUF the user already has: downloaded by DocTune, or in Ollama's or LM Studio's store (used in place). */
export const LocalModel = z.object({
  name: z.string(),
  source: z.enum(['downloaded', 'ollama', 'lmstudio']),
  path: z.string(),
  bytes: z.number(),
  architecture: z.string().nullable(),
  /** DocTune can fine-tune it; if not, why (an English sentence from the engine). */
  trainable: z.boolean(),
  trainableReason: z.string().optional(),
});
export type LocalModel = z.infer<typeof LocalModel>;

export const ModelsOverview = z.object({
  ramBytes: z.number(),
  /** The GPU training would use ("CUDA0 (NVIDIA …)"), or null. */
  gpu: z.string().nullable(),
  catalog: z.array(CatalogModel),
  /** The catalog model recommended for this machine, and why (or why none). */
  recommended: z.string().nullable(),
  reason: z.string(),
  local: z.array(LocalModel),
  /** Where downloads go. */
  modelsDir: z.string(),
});
export type ModelsOverview = z.infer<typeof ModelsOverview>;

/** A model file checked with DocTune's GGUF reader before use. */
export const ModelInfo = z.object({
  path: z.string(),
  name: z.string(),
  architecture: z.string().nullable(),
  bytes: z.number(),
  /** It has a chat template: it can teach itself (the pipeline's auto teacher). */
  instruct: z.boolean(),
  /** DocTune can fine-tune it (its architecture, and no mixture of experts, vision tower…). */
  trainable: z.boolean(),
  /** Why it cannot be trained, in English (the engine's trainability check); absent when it can. */
  trainableReason: z.string().optional(),
});
export type ModelInfo = z.infer<typeof ModelInfo>;

export const PIPELINE_STAGES = ['ingest', 'generate', 'accept', 'train', 'eval', 'export'] as const;

/** Where training runs (auto: CUDA, then Vulkan or Metal, then the CPU): the native trainer checks it has the same list. */
export const DEVICE_CHOICES = ['auto', 'cpu', 'cuda', 'vulkan', 'metal'] as const;
export type DeviceChoice = (typeof DEVICE_CHOICES)[number];
/** Operands of the training step's products (auto: the fastest on the device, measured). */
export const PRECISION_CHOICES = ['auto', 'f32', 'f16', 'bf16'] as const;
export type PrecisionChoice = (typeof PRECISION_CHOICES)[number];
/** Passes over the training data unless told otherwise: the CLI's --epochs, the pipeline and the wizard. */
export const DEFAULT_EPOCHS = 3;
/** The LoRA target modules by their llama.cpp names; the native trainer takes them as a bit mask in this order. */
export const LORA_TARGETS = ['attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];
/**
 * What to do with a conversation longer than the sequence length: refuse the data set (naming every such
 * conversation), split its tokens into windows, or fit it (its last answer split at sentence boundaries
 * into parts, each under the question repeated; what still does not fit is dropped and counted).
 */
export const LONG_SEQUENCES = ['refuse', 'split', 'fit'] as const;
export type LongSequences = (typeof LONG_SEQUENCES)[number];
/** Activation checkpointing: auto (when the step does not fit otherwise), on, off. */
export const CHECKPOINTING = ['auto', 'on', 'off'] as const;
/** Formats QA pairs are exported in (JSON, or JSON Lines for messages). */
export const EXPORT_FORMATS = ['alpaca', 'sharegpt', 'messages'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
/** Engines a training bundle is written for. */
export const BUNDLE_ENGINES = ['llama-factory', 'axolotl'] as const;
export type BundleEngine = (typeof BUNDLE_ENGINES)[number];
export const PipelineStage = z.enum(PIPELINE_STAGES);
export type PipelineStage = z.infer<typeof PipelineStage>;

export const PipelineStartArgs = z.object({
  modelPath: z.string().min(1),
  /** Files or folders to import first (none: the workspace's documents as they are). */
  paths: z.array(z.string()).max(10_000).default([]),
  /** auto: the model itself if it is an instruct model, else extractive; workspace: the teacher of the settings. */
  teacher: z.enum(['auto', 'extractive', 'workspace']).default('auto'),
  epochs: z.number().int().min(1).max(50).optional(),
  device: z.enum(DEVICE_CHOICES).default('auto'),
  /** Operands of the training step's products (auto: the fastest on the device, measured). */
  precision: z.enum(PRECISION_CHOICES).default('auto'),
  /** An interrupted run to continue (its folder under the workspace's runs/). */
  resume: z.string().regex(/^pipeline-[\w-]{1,80}$/).optional(),
}).strict();

/** One step of the pipeline's progress, flattened for the UI. */
export const PipelineProgressEvent = z.object({
  jobId: z.string(),
  run: z.string(),
  stage: PipelineStage,
  status: z.enum(['start', 'skipped', 'done', 'progress']),
  /** Units done and in all (passages, steps, questions), where the stage counts them. */
  done: z.number().nullable(),
  total: z.number().nullable(),
  /** Training: the latest loss and the time left. */
  loss: z.number().nullable(),
  etaSeconds: z.number().nullable(),
  /** What the stage has produced: documents (ingest), pairs (generate, accept), steps (train), questions (eval). */
  count: z.number().nullable(),
  /** The training device, as the trainer names it. */
  device: z.string().nullable(),
  /** Training: how the data was fitted to the sequence length (long answers split, or dropped). */
  fit: z.object({
    seq: z.number().int(), conversations: z.number().int(), examples: z.number().int(), split: z.number().int(), parts: z.number().int(), dropped: z.number().int(),
  }).nullable(),
  /** Training: the step a resumed run continues from (its checkpoint), 0 for a fresh start. */
  resumedAt: z.number().int().nullable(),
});
export type PipelineProgressEvent = z.infer<typeof PipelineProgressEvent>;

export const PipelineResultView = z.object({
  adapter: z.string(),
  modelfile: z.string(),
  howto: z.string(),
  /** The evaluation report: its file in the workspace's reports (eval.report opens it). */
  report: z.string(),
  pairs: z.number().int(),
  n: z.number().int(),
  base: z.object({ f1: z.number(), em: z.number() }),
  adapted: z.object({ f1: z.number(), em: z.number() }),
  base_rag: z.object({ f1: z.number(), em: z.number() }),
  adapted_rag: z.object({ f1: z.number(), em: z.number() }),
});
export type PipelineResultView = z.infer<typeof PipelineResultView>;

/** A pipeline run in the workspace: which stages are done (an unfinished one can be resumed). */
export const PipelineRunInfo = z.object({
  run: z.string(),
  modelPath: z.string(),
  /** The teacher and epochs it began with (a resume uses them); null for runs that did not record them. */
  teacher: z.enum(['auto', 'extractive', 'workspace']).nullable(),
  epochs: z.number().int().nullable(),
  stages: z.array(PipelineStage),
  finished: z.boolean(),
  updatedAt: z.string(),
});
export type PipelineRunInfo = z.infer<typeof PipelineRunInfo>;

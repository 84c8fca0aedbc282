/**
 * run.json, the record a training run leaves beside its adapter: the base model, the settings, the pairs held
 * out for evaluation, and how the run went. Written by training and by adapter imports; read by chat,
 * evaluation, the CLI's adapter and bundle commands. One schema, versioned: a record from before versions
 * (no `version`) is read as version 1, which added only the field.
 */
import { z } from 'zod';
import { recordFormat } from '../versioned-record.js';
import { CHECKPOINTING } from './train-config.js';
import { DEVICES, LORA_TARGETS, PRECISIONS } from './native-addon.js';
import { LONG_SEQUENCES } from './sequence-length.js';

export const RUN_RECORD_VERSION = 1 as const;

const Message = z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() });

/** The settings the run trained with (TrainConfig); each may be missing in records of older versions. */
export const RunConfig = z
  .object({
    modelPath: z.string(),
    rank: z.number().int().positive(),
    alpha: z.number().positive(),
    targets: z.array(z.enum(LORA_TARGETS)),
    epochs: z.number().int().positive(),
    lr: z.number().positive(),
    batch: z.number().int().positive(),
    accum: z.number().int().positive(),
    seq: z.number().int().nonnegative(),
    longSequences: z.enum(LONG_SEQUENCES),
    evalSplit: z.number().min(0).max(1),
    seed: z.number().int(),
    threads: z.number().int().nonnegative(),
    weightDecay: z.number().nonnegative(),
    clip: z.number().nonnegative(),
    warmupRatio: z.number().min(0).max(1),
    checkpointEvery: z.number().int().nonnegative(),
    device: z.enum(DEVICES),
    precision: z.enum(PRECISIONS),
    checkpointing: z.enum(CHECKPOINTING),
  })
  .partial();

export const RunRecord = z
  .object({
    version: z.literal(RUN_RECORD_VERSION),
    /** The adapter file (absolute where training wrote it; a bare name for imports, beside run.json). */
    adapter: z.string().min(1),
    base_model: z.object({ path: z.string().min(1), sha256: z.string().optional(), arch: z.string().optional() }).loose(),
    /** When training finished (ISO time); hand-made records may leave it out. */
    finished_at: z.string().default(''),
    config: RunConfig.optional(),
    /** What the memory plan chose; `seq` is the sequence length trained with (auto resolved). */
    memory_plan: z.object({ seq: z.number().int().positive() }).partial().loose().optional(),
    examples: z.object({ train: z.number().int().nonnegative(), eval: z.number().int().nonnegative() }).optional(),
    /** Conversations left out of training, for `doctune eval`. */
    held_out: z.array(z.array(Message)).default([]),
    /** An adapter imported from a PEFT folder: that folder. */
    imported_from: z.string().optional(),
  })
  // Device, losses, timings and the like are kept as written: reports read them, nothing decides on them.
  .loose();
export type RunRecord = z.infer<typeof RunRecord>;
export type RunRecordInput = z.input<typeof RunRecord>;

const format = recordFormat('run.json', RunRecord, RUN_RECORD_VERSION);

/** A record read from JSON, older versions brought up to this one. */
export const parseRunRecord = format.parse;

/** The run record in `file`, or null when there is none; a record that does not parse is an error naming the file. */
export const readRunRecord = format.read;

/** Validated, then written atomically: a record that would not read back is never written. */
export const writeRunRecord = format.write;

/** run.json's JSON Schema, for tools outside DocTune (derived from the schema above). */
export const RUN_RECORD_JSON_SCHEMA = z.toJSONSchema(RunRecord, { io: 'input', unrepresentable: 'any' });

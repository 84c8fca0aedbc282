/**
 * pipeline.json, the record of a `doctune pipeline` run (and of the app's New adapter runs): which stages
 * are done, with what, so that running it again resumes. One schema for the pipeline that writes it and the
 * app that lists the runs; versioned like run.json (a record from before versions is version 1).
 */
import { z } from 'zod';
import { PIPELINE_STAGES } from '../../shared/pipeline-schemas.js';
import { recordFormat } from '../versioned-record.js';
import { RunConfig } from '../train/run-record.js';

export const PIPELINE_STATE_VERSION = 1 as const;

const StageDone = z.object({ at: z.string(), summary: z.unknown() });

export const PipelineState = z.object({
  version: z.literal(PIPELINE_STATE_VERSION),
  /** The base model the run trains (a resume with another model starts over). */
  model: z.string().min(1),
  stages: z.partialRecord(z.enum(PIPELINE_STAGES), StageDone),
  /** Training options as the first attempt used them: a resumed run keeps them (its checkpoint requires it). */
  train: RunConfig.omit({ modelPath: true, device: true, threads: true, precision: true }).optional(),
  /** The training-data snapshot this run wrote, and how many conversations it holds. */
  snapshot: z.object({ conversations: z.number().int().nonnegative() }).optional(),
  /** What the caller chose when the run began (the wizard: teacher, epochs), kept for resuming. */
  choices: z.object({ teacher: z.enum(['auto', 'extractive', 'workspace']).optional(), epochs: z.number().int().positive().optional() }).loose().optional(),
});
export type PipelineState = z.infer<typeof PipelineState>;

const format = recordFormat('pipeline.json', PipelineState, PIPELINE_STATE_VERSION);

/** The run's record, or null when it has none; a record that does not parse is an error naming the file. */
export const readPipelineState = format.read;

export async function writePipelineState(file: string, state: PipelineState): Promise<void> {
  await format.write(file, state);
}

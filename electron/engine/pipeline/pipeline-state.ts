/**
 * pipeline.json, the record of a `doctune pipeline` run (and of the app's New adapter runs): which stages
 * are done, with what, so that running it again resumes. One schema for the pipeline that writes it and the
 * app that lists the runs; versioned like run.json (a record from before versions is version 1).
 */
import fs from 'node:fs/promises';
import { z } from 'zod';
import { PIPELINE_STAGES } from '../../shared/pipeline-schemas.js';
import { writeFileAtomic } from '../atomic-write.js';
import { DocTuneError } from '../errors.js';
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

/** The run's record, or null when it has none; a record that does not parse is an error naming the file. */
export async function readPipelineState(file: string): Promise<PipelineState | null> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new DocTuneError('WORKSPACE', `cannot read pipeline.json: ${(err as Error).message}`, { path: file, cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new DocTuneError('WORKSPACE', `pipeline.json is damaged: ${(err as Error).message}`, { path: file, cause: err });
  }
  const migrated = raw && typeof raw === 'object' && !('version' in raw) ? { ...raw, version: PIPELINE_STATE_VERSION } : raw;
  const parsed = PipelineState.safeParse(migrated);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DocTuneError('WORKSPACE', `pipeline.json is damaged: ${issue ? `${issue.path.join('.') || 'record'}: ${issue.message}` : 'not a pipeline record'}`, { path: file });
  }
  return parsed.data;
}

export async function writePipelineState(file: string, state: PipelineState): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(PipelineState.parse(state), null, 2)}\n`);
}

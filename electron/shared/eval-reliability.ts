/**
 * How far an evaluation's scores can be read, from how many questions were scored: the engine (its result, the
 * HTML report, the CLI) and the app's panels judge it by the same rule.
 */
import { z } from 'zod';

/** sound: enough questions to compare; indicative: a hint only; insufficient: not a measure at all. */
export const EvalReliability = z.enum(['sound', 'indicative', 'insufficient']);
export type EvalReliability = z.infer<typeof EvalReliability>;

/** Fewer scored questions than this: the score is indicative only. */
export const SOUND_FROM = 20;
/** Fewer than this: the score cannot be read as a measure. */
export const INDICATIVE_FROM = 5;

export function evalReliability(questions: number): EvalReliability {
  if (questions >= SOUND_FROM) return 'sound';
  return questions >= INDICATIVE_FROM ? 'indicative' : 'insufficient';
}

/** The training run's split: examples trained on and held out (several examples can come from one conversation). */
export const EvalExamples = z.object({ train: z.number().int(), eval: z.number().int() });
export type EvalExamples = z.infer<typeof EvalExamples>;

/** The sequence length and what is done with longer conversations: settings the CLI, app and trainer share. */

export { LONG_SEQUENCES, type LongSequences } from '../../shared/pipeline-schemas.js';

/** What preparing the data did to make it fit, for the progress line and run.json. */
export interface FitSummary {
  seq: number;
  conversations: number;
  examples: number;
  /** Conversations longer than seq; how many were split, into how many parts; how many were dropped. */
  tooLong: number;
  split: number;
  parts: number;
  dropped: number;
  /** Tokens of the longest conversation before fitting. */
  longest: number;
}

/** The sequence length `seq: 0` (auto) stands for: the model's context, at most this many tokens. */
export const AUTO_SEQ_CAP = 1024;

export function autoSeq(contextLength: number | undefined): number {
  return Math.min(AUTO_SEQ_CAP, contextLength && contextLength >= 64 ? contextLength : AUTO_SEQ_CAP);
}

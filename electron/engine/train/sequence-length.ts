/** The sequence length and what is done with longer conversations: settings the CLI, app and trainer share. */

/**
 * What to do with a conversation longer than the sequence length: refuse the data set (naming every such
 * conversation), split its tokens into windows, or fit it (its last answer split at sentence boundaries
 * into parts, each under the question repeated; what still does not fit is dropped and counted).
 */
export type LongSequences = 'refuse' | 'split' | 'fit';
export const LONG_SEQUENCES: readonly LongSequences[] = ['refuse', 'split', 'fit'];

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

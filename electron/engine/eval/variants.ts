/** The four ways a question is answered in an evaluation, and what is recorded for each. */

export const VARIANTS = ['base', 'adapted', 'base_rag', 'adapted_rag'] as const;
export type Variant = (typeof VARIANTS)[number];

export interface EvalItem {
  question: string;
  reference: string;
  answers: Record<Variant, string>;
  f1: Record<Variant, number>;
  em: Record<Variant, number>;
  /** The judge's grade 1–5 (null: not judged, or not gradable). */
  judge: Record<Variant, number | null>;
  /** Passages given to the RAG variants: document, page, heading. */
  citations: { title: string; page: number | null; heading: string[] }[];
}

/** Means over the questions, 0–1; `judge` maps grades 1–5 onto 0–1 (null when nothing was graded). */
export interface VariantScores {
  f1: number;
  em: number;
  judge: number | null;
}

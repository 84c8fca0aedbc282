/**
 * SQuAD-style answer scores: exact match and token F1 after normalisation (lower case, punctuation and
 * English articles removed). Chinese has no spaces, so it is split into words with ICU's segmenter
 * (Intl.Segmenter), the same tokenisation search uses.
 */
import { HAN } from '../text/scripts.js';
const segmenter = new Intl.Segmenter('zh', { granularity: 'word' });

export function normalize(text: string): string {
  return text
    .toLowerCase()
    .normalize('NFKC')
    .replace(/[\p{P}\p{S}]/gu, ' ')
    .replace(/\b(a|an|the)\b/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export function answerTokens(text: string): string[] {
  const norm = normalize(text);
  if (!HAN.test(norm)) return norm ? norm.split(' ') : [];
  return [...segmenter.segment(norm)].filter((s) => s.isWordLike).map((s) => s.segment);
}

export function exactMatch(prediction: string, reference: string): number {
  return normalize(prediction) === normalize(reference) ? 1 : 0;
}

export function tokenF1(prediction: string, reference: string): number {
  const p = answerTokens(prediction);
  const r = answerTokens(reference);
  if (!p.length || !r.length) return p.length === r.length ? 1 : 0;
  const counts = new Map<string, number>();
  for (const t of r) counts.set(t, (counts.get(t) ?? 0) + 1);
  let common = 0;
  for (const t of p) {
    const n = counts.get(t) ?? 0;
    if (n > 0) {
      common++;
      counts.set(t, n - 1);
    }
  }
  if (!common) return 0;
  const precision = common / p.length;
  const recall = common / r.length;
  return (2 * precision * recall) / (precision + recall);
}

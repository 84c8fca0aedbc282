/**
 * Token estimates and sentence boundaries, model-free. Chunk sizes are set in tokens before any model is
 * chosen, so we estimate the way BPE tokenizers of current instruct models behave: one token per CJK
 * character, about four Latin characters per token, one per punctuation mark.
 */
import { CJK, CJK_GLOBAL } from './scripts.js';

export function isCjkChar(ch: string): boolean {
  return CJK.test(ch);
}

export function estimateTokens(text: string): number {
  let tokens = 0;
  const cjk = text.match(CJK_GLOBAL);
  tokens += cjk ? cjk.length : 0;
  const rest = text.replace(CJK_GLOBAL, ' ');
  for (const word of rest.split(/\s+/)) {
    if (!word) continue;
    const letters = word.replace(/[^\p{L}\p{N}]/gu, '').length;
    const punct = word.length - letters;
    tokens += (letters > 0 ? Math.ceil(letters / 4) : 0) + punct;
  }
  return tokens;
}

/** Chinese closes sentences (and clauses a statute treats as such) with 。！？；, full-width or ASCII. */
const ZH_SENTENCE_END = /(?<=[。！？；!?;…]+[”’」』）)]*)/u;

const englishSegmenter = new Intl.Segmenter('en', { granularity: 'sentence' });

/** Split into sentences, keeping every character (joining the result gives the input back). */
export function splitSentences(text: string, language: string): string[] {
  if (language.startsWith('zh') || language === 'ja') {
    return text.split(ZH_SENTENCE_END).filter((s) => s.length > 0);
  }
  const out: string[] = [];
  for (const seg of englishSegmenter.segment(text)) out.push(seg.segment);
  return out;
}

const zhWordSegmenter = new Intl.Segmenter('zh', { granularity: 'word' });

/**
 * Text prepared for the full-text index: CJK runs are split into words with ICU's dictionary segmenter so
 * the index's whitespace tokenizer sees 治安 管理 rather than one unbroken run; Latin text passes through.
 */
export function segmentForIndex(text: string): string {
  if (!CJK.test(text)) return text;
  const parts: string[] = [];
  for (const seg of zhWordSegmenter.segment(text)) {
    if (seg.isWordLike) parts.push(seg.segment);
    else if (/\S/u.test(seg.segment)) parts.push(' ');
  }
  return parts.join(' ').replace(/\s+/gu, ' ').trim();
}

/** Query terms as the index sees them: used for highlighting hits. */
export function queryTerms(query: string): string[] {
  const seen = new Set<string>();
  for (const term of segmentForIndex(query).split(/[^\p{L}\p{N}]+/u)) {
    const t = term.trim();
    if (t.length > 0) seen.add(t);
  }
  return [...seen];
}

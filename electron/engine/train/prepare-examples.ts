import { getLlama, LlamaLogLevel, type ChatWrapper, type LlamaModel } from 'node-llama-cpp';
import { chatWrapperFor } from '../models/chat-template.js';
import { DocTuneError } from '../errors.js';
import { splitSentences } from '../text/text-units.js';
import type { FitSummary, LongSequences } from './sequence-length.js';
import { tokenizeConversation, type TokenizedExample } from './sft-data.js';
import type { Conversation } from '../models/messages.js';

export interface PreparedExamples {
  examples: TokenizedExample[];
  fit: FitSummary;
}

/** The part marker for parts after the first, in the question's language. */
export function partMarker(question: string, part: number, parts: number): string {
  return /[\u3400-\u9fff]/u.test(question) ? `（续，第 ${part} 部分，共 ${parts} 部分）` : `(continued, part ${part} of ${parts})`;
}

/**
 * The last answer of a too-long conversation in parts of whole sentences, each part one conversation whose
 * question is repeated (marked as a continuation after the first), so that the model learns every sentence
 * and a plain question still leads to the answer's beginning. A sentence longer than a part is cut between
 * words. Null when not even one word fits beside the question.
 */
export function fitConversation(conv: Conversation, fits: (c: Conversation) => boolean): Conversation[] | null {
  const k = conv.map((m) => m.role).lastIndexOf('assistant');
  const lastUser = conv.slice(0, k).map((m) => m.role).lastIndexOf('user');
  if (k < 0 || lastUser < 0) return null;
  const question = conv[lastUser]!.content;
  const answer = conv[k]!.content;
  const cjk = /[\u3400-\u9fff]/u.test(answer);
  const build = (text: string, part: number, parts: number): Conversation =>
    conv.slice(0, k + 1).map((m, i) => {
      if (i === k) return { ...m, content: text.trim() };
      if (i === lastUser && part > 1) return { ...m, content: `${question}\n\n${partMarker(question, part, parts)}` };
      return m;
    });
  // Measured against the widest marker a part could carry, so that the final markers cannot push one over.
  const fitsPart = (text: string, first: boolean): boolean => fits(build(text, first ? 1 : 99, 99));
  const units: string[] = [];
  for (const sentence of splitSentences(answer, cjk ? 'zh' : 'en')) {
    if (!sentence.trim()) continue;
    if (fitsPart(sentence, false)) units.push(sentence);
    else units.push(...(cjk ? [...sentence] : sentence.split(/(?<=\s)/u)));
  }
  const packed: string[] = [];
  let at = 0;
  while (at < units.length) {
    // The most units from `at` that fit in one part (binary search: each probe tokenizes a conversation).
    let lo = 0;
    let hi = units.length - at;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (fitsPart(units.slice(at, at + mid).join(''), packed.length === 0)) lo = mid;
      else hi = mid - 1;
    }
    if (lo === 0) return null;
    const text = units.slice(at, at + lo).join('');
    if (text.trim()) packed.push(text);
    at += lo;
  }
  return packed.length ? packed.map((text, i) => build(text, i + 1, packed.length)) : null;
}

/** Tokenize, with `fit`'s splitting; the caller's conversation index stays on every part. */
export function fitExamples(
  conversations: Conversation[], seq: number, mode: LongSequences, tokenize: (c: Conversation) => TokenizedExample,
): PreparedExamples {
  const out: TokenizedExample[] = [];
  const tooLong: { index: number; tokens: number }[] = [];
  let split = 0;
  let parts = 0;
  let dropped = 0;
  let longest = 0;
  conversations.forEach((conv, i) => {
    const ex = tokenize(conv);
    longest = Math.max(longest, ex.tokens.length);
    if (ex.tokens.length <= seq) {
      out.push({ ...ex, conversation: i });
      return;
    }
    tooLong.push({ index: i, tokens: ex.tokens.length });
    if (mode === 'split') {
      for (let start = 0; start < ex.tokens.length - 1; start += seq) {
        const tokens = ex.tokens.slice(start, start + seq);
        const labels = ex.labels.slice(start, start + seq);
        labels[labels.length - 1] = -1; // its target lies in the next window
        if (labels.some((l) => l >= 0)) out.push({ tokens, labels, conversation: i });
      }
    } else if (mode === 'fit') {
      const fitted = fitConversation(conv, (c) => tokenize(c).tokens.length <= seq);
      if (!fitted) {
        dropped++;
        return;
      }
      split++;
      parts += fitted.length;
      for (const part of fitted) out.push({ ...tokenize(part), conversation: i });
    }
  });
  if (mode === 'refuse' && tooLong.length) {
    const worst = tooLong.reduce((a, b) => (b.tokens > a.tokens ? b : a));
    const named = tooLong.slice(0, 8).map((t) => t.index + 1).join(', ') + (tooLong.length > 8 ? ', …' : '');
    throw new DocTuneError(
      'BAD_ARGUMENT',
      `${tooLong.length} of ${conversations.length} examples are longer than --seq ${seq} tokens (example${tooLong.length > 1 ? 's' : ''} ${named}; ` +
        `the longest, example ${worst.index + 1}, is ${worst.tokens}): raise --seq to ${Math.ceil(worst.tokens / 16) * 16}, ` +
        'or use --long-sequences fit (answers split at sentences, the question repeated) or split (cut into windows)',
    );
  }
  if (!out.some((ex) => ex.labels.some((l) => l >= 0))) {
    throw new DocTuneError('BAD_ARGUMENT', dropped ? `no example fits in ${seq} tokens (${dropped} dropped): raise --seq` : 'no example has an answer to learn from');
  }
  return { examples: out, fit: { seq, conversations: conversations.length, examples: out.length, tooLong: tooLong.length, split, parts, dropped, longest } };
}

/**
 * Conversations → token ids and loss labels with the base model's own chat template. Only the vocabulary is
 * loaded (no weights).
 */
export async function prepareExamples(modelPath: string, conversations: Conversation[], seq: number, longSequences: LongSequences): Promise<PreparedExamples> {
  const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, logger: () => undefined });
  try {
    const model: LlamaModel = await llama.loadModel({ modelPath, vocabOnly: true });
    const wrapper: ChatWrapper = chatWrapperFor(model);
    const prepared = fitExamples(conversations, seq, longSequences, (c) => tokenizeConversation(model, wrapper, c));
    await model.dispose();
    return prepared;
  } finally {
    await llama.dispose();
  }
}

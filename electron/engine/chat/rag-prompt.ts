/**
 * Retrieved passages in the prompt (the chat window's RAG mode and the evaluation's RAG variants): the
 * question's last user turn is rewritten to carry the passages, numbered for citation, in the question's
 * language. Passages are fitted to the model's context first: a small model's context can be shorter than
 * three passages, and an overflowing prompt would fail or push the question itself out.
 */
import { detectScriptLanguage } from '../text/detect-language.js';
import type { Conversation } from '../models/messages.js';

export interface PromptPassage {
  title: string;
  text: string;
}

/** What fitting needs from a loaded model (ChatHost provides it). */
export interface TokenCounter {
  /** Tokens one conversation may fill, prompt and answer together. */
  readonly contextSize: number;
  countTokens(texts: string[]): Promise<number[]>;
}

/** Tokens kept for the chat template's own markup (role headers, separators) and the passage numbering. */
const TEMPLATE_ALLOWANCE = 48;
/** And for each message's own markup, which grows with the conversation. */
const MESSAGE_ALLOWANCE = 8;
/** A passage cut shorter than this says too little to be worth the space. */
const MIN_PASSAGE_TOKENS = 24;

const isChinese = (s: string): boolean => detectScriptLanguage(s) === 'zh';

/** The user turn: the passages, then the question, asking for [n] citations. */
export function ragQuestion(question: string, passages: readonly PromptPassage[]): string {
  const context = passages.map((p, i) => `[${i + 1}] (${p.title}) ${p.text}`).join('\n\n');
  return isChinese(question)
    ? `请根据下面的资料回答问题，并用 [编号] 注明出处。\n\n${context}\n\n问题：${question}`
    : `Answer using the passages below, citing them as [n].\n\n${context}\n\nQuestion: ${question}`;
}

/** A text cut to about `tokens` tokens (cut by characters at the text's own token density, then checked). */
async function cutTo(text: string, tokens: number, have: number, counter: TokenCounter): Promise<string | null> {
  let n = have;
  let out = text;
  for (let tries = 0; tries < 4 && n > tokens; tries++) {
    out = `${out.slice(0, Math.floor((out.length * tokens * 0.95) / n)).trimEnd()}…`;
    [n] = (await counter.countTokens([out])) as [number];
  }
  return n <= tokens && out.length > 1 ? out : null;
}

/**
 * The passages (in rank order) that fit beside the conversation and an answer of `answerTokens`; the last
 * one that fits only in part is cut. Returns the conversation with its last user turn carrying them, and the
 * passages given (with their texts as given).
 */
export async function withPassages<P extends PromptPassage>(
  counter: TokenCounter, messages: Conversation, passages: readonly P[], answerTokens: number,
): Promise<{ messages: Conversation; used: P[] }> {
  const last = messages.findLastIndex((m) => m.role === 'user');
  if (last < 0 || !passages.length) return { messages, used: [] };
  const question = messages[last]!.content;
  const framing = ragQuestion(question, passages.map((p) => ({ ...p, text: '' })));
  const [fixed, ...sizes] = await counter.countTokens([[...messages.filter((_, i) => i !== last).map((m) => m.content), framing].join('\n'), ...passages.map((p) => p.text)]);
  // The answer gets at most half the context: a long max-tokens setting must not crowd out every passage.
  let budget = counter.contextSize - Math.min(answerTokens, Math.floor(counter.contextSize / 2)) - fixed! - TEMPLATE_ALLOWANCE - MESSAGE_ALLOWANCE * messages.length;
  const used: P[] = [];
  for (const [i, p] of passages.entries()) {
    const size = sizes[i]!;
    if (size <= budget) {
      used.push(p);
      budget -= size;
      continue;
    }
    if (budget >= MIN_PASSAGE_TOKENS) {
      const text = await cutTo(p.text, budget, size, counter);
      if (text) used.push({ ...p, text });
    }
    break;
  }
  const out = [...messages];
  if (used.length) out[last] = { role: 'user', content: ragQuestion(question, used) };
  return { messages: out, used };
}

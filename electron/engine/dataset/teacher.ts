/**
 * What every model teacher (a local GGUF, an OpenAI-compatible API) does and says: the same prompts in the
 * passage's language, the same JSON schemas (a grammar for the local model, response_format or robust
 * extraction for an API), questions first, then one answer with its evidence per question.
 */
import { z } from 'zod';
import { detectScriptLanguage } from '../text/detect-language.js';
import type { PassageInput } from './extractive-teacher.js';

export interface TeacherPair {
  question: string;
  answer: string;
  /** The sentence of the passage the teacher says its answer rests on (checked by the caller). */
  evidence: string;
}

export interface TeacherStats {
  /** Model outputs received. */
  outputs: number;
  /** Outputs that did not parse or validate against their schema (0 with a grammar). */
  unparsable: number;
  /** HTTP requests made, retries among them, and tokens counted by the server (API teacher). */
  requests?: number;
  retries?: number;
  promptTokens?: number;
  completionTokens?: number;
  /** In US dollars, where prices were given. */
  cost?: number;
}

export interface Teacher {
  readonly kind: 'local' | 'api';
  /** Passages worth keeping in flight at once. */
  readonly parallel: number;
  readonly stats: TeacherStats;
  pairsFor(p: PassageInput, maxQuestions: number): Promise<TeacherPair[]>;
  /** k rewordings of a question that keep its meaning (and so its answer). */
  paraphrase(question: string, language: string, k: number): Promise<string[]>;
  /** A grade of `answer` against the reference answer, 1 (wrong) to 5 (same meaning); null if unparsable. */
  judge(question: string, reference: string, answer: string): Promise<number | null>;
  dispose(): Promise<void>;
}

/**
 * What the teachers return, one source for both uses: zod shapes validate a reply, and the JSON Schemas
 * derived from them constrain the local model (a grammar) and ask an API (response_format).
 */
const question = z.string().min(5).max(300);
export const questionsShape = z.object({ questions: z.array(question).min(1).max(8) });
export const answerShape = z.object({ answer: z.string().min(1).max(800), evidence: z.string().max(800) });
export const paraphraseShape = z.object({ paraphrases: z.array(question).min(1).max(8) });
// An enum, not minimum/maximum: llama.cpp's JSON-schema grammars do not enforce numeric bounds.
export const judgeShape = z.object({ score: z.literal([1, 2, 3, 4, 5]) });
/** An API may send the grade as a string ("4"): read as the number it names. */
export const judgeReplyShape = z.object({ score: z.preprocess((v) => (typeof v === 'string' && /^\s*\d\s*$/.test(v) ? Number(v) : v), judgeShape.shape.score) });

function jsonSchema(shape: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...schema } = z.toJSONSchema(shape) as Record<string, unknown>;
  return schema;
}

export const QUESTIONS_SCHEMA = jsonSchema(questionsShape);
export const ANSWER_SCHEMA = jsonSchema(answerShape);
export const PARAPHRASE_SCHEMA = jsonSchema(paraphraseShape);
export const JUDGE_SCHEMA = jsonSchema(judgeShape);

export function questionPrompt(p: PassageInput, n: number): string {
  const where = p.heading.length ? p.heading.join(' > ') : p.title;
  return p.language === 'zh'
    ? `下面是《${p.title}》中“${where}”部分的一段文字。请提出最多${n}个可以仅凭这段文字回答的问题，用中文，以 JSON 输出，格式为 {"questions": [...]}。\n\n${p.text}`
    : `Below is a passage from "${p.title}" (section: ${where}). Write up to ${n} questions that the passage alone answers, in English, as JSON: {"questions": [...]}.\n\n${p.text}`;
}

export function answerPrompt(p: PassageInput, question: string): string {
  return p.language === 'zh'
    ? `仅根据下面的文字回答问题，并把所依据的原句原样填入 evidence。以 JSON 输出，格式为 {"answer": "...", "evidence": "..."}。\n\n文字：${p.text}\n\n问题：${question}`
    : `Answer the question using only the passage below, and copy the sentence you relied on, word for word, into "evidence". Reply as JSON: {"answer": "...", "evidence": "..."}.\n\nPassage: ${p.text}\n\nQuestion: ${question}`;
}

export function paraphrasePrompt(question: string, language: string, k: number): string {
  return language === 'zh'
    ? `请把下面的问题换${k}种说法，意思不变，用中文，以 JSON 输出，格式为 {"paraphrases": [...]}。\n\n问题：${question}`
    : `Rephrase the question below in ${k} different ways that keep its meaning exactly, in English, as JSON: {"paraphrases": [...]}.\n\nQuestion: ${question}`;
}

export function judgePrompt(question: string, reference: string, answer: string): string {
  return detectScriptLanguage(`${question}\n${reference}`) === 'zh'
    ? `请对照参考答案给回答打分：1 表示错误或答非所问，3 表示部分正确，5 表示与参考答案意思相同（多出的正确细节不扣分）。以 JSON 输出，格式为 {"score": 分数}。\n\n问题：${question}\n\n参考答案：${reference}\n\n回答：${answer}`
    : `Grade the answer against the reference answer: 1 means wrong or off topic, 3 partly right, 5 the same meaning as the reference (extra correct detail is fine). Reply as JSON: {"score": n}.\n\nQuestion: ${question}\n\nReference answer: ${reference}\n\nAnswer: ${answer}`;
}

/** Questions from a teacher's output: trimmed, non-empty, at most n. */
export function cleanQuestions(list: readonly string[], n: number): string[] {
  return list.map((s) => s.trim()).filter(Boolean).slice(0, n);
}

/** Rewordings that differ from the question and from each other (case and spacing aside). */
export function cleanParaphrases(question: string, list: readonly string[], k: number): string[] {
  const norm = (s: string): string => s.replace(/\s+/g, ' ').trim().toLowerCase();
  const seen = new Set([norm(question)]);
  const out: string[] = [];
  for (const s of list) {
    const n = norm(s);
    if (!n || seen.has(n)) continue;
    seen.add(n);
    out.push(s.trim());
    if (out.length >= k) break;
  }
  return out;
}

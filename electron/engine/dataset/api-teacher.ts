/**
 * An OpenAI-compatible API as teacher: the same prompts and schemas as the local model, over HTTP. The
 * schemas go out as response_format where the server takes it; replies are validated either way.
 */
import { ChatCompletionsClient, type ChatCompletionsOptions } from './chat-completions-client.js';
import type { PassageInput } from './extractive-teacher.js';
import {
  ANSWER_SCHEMA, answerPrompt, answerShape, cleanParaphrases, cleanQuestions, JUDGE_SCHEMA, judgePrompt, judgeReplyShape, PARAPHRASE_SCHEMA, paraphrasePrompt, paraphraseShape,
  QUESTIONS_SCHEMA, questionPrompt, questionsShape, type Teacher, type TeacherPair, type TeacherStats,
} from './teacher.js';

const validate = <T>(shape: { safeParse(v: unknown): { success: true; data: T } | { success: false } }) => (v: unknown): T | null => {
  const r = shape.safeParse(v);
  return r.success ? r.data : null;
};

export class ApiTeacher implements Teacher {
  readonly kind = 'api' as const;
  private readonly client: ChatCompletionsClient;

  constructor(options: ChatCompletionsOptions) {
    this.client = new ChatCompletionsClient(options);
  }

  get parallel(): number {
    return this.client.concurrency;
  }

  get stats(): TeacherStats {
    return { ...this.client.stats };
  }

  async pairsFor(p: PassageInput, maxQuestions: number): Promise<TeacherPair[]> {
    const q = await this.client.json(questionPrompt(p, maxQuestions), { name: 'questions', schema: QUESTIONS_SCHEMA }, validate(questionsShape), 400);
    const questions = cleanQuestions(q?.questions ?? [], maxQuestions);
    const answers = await Promise.all(questions.map((question) => this.client.json(answerPrompt(p, question), { name: 'answer', schema: ANSWER_SCHEMA }, validate(answerShape), 500)));
    return questions.flatMap((question, i) => {
      const a = answers[i];
      return a ? [{ question, answer: a.answer.trim(), evidence: a.evidence.trim() }] : [];
    });
  }

  async paraphrase(question: string, language: string, k: number): Promise<string[]> {
    const r = await this.client.json(paraphrasePrompt(question, language, k), { name: 'paraphrases', schema: PARAPHRASE_SCHEMA }, validate(paraphraseShape), 400);
    return cleanParaphrases(question, r?.paraphrases ?? [], k);
  }

  async judge(question: string, reference: string, answer: string): Promise<number | null> {
    const r = await this.client.json(judgePrompt(question, reference, answer), { name: 'grade', schema: JUDGE_SCHEMA }, validate(judgeReplyShape), 20);
    return r?.score ?? null;
  }

  async dispose(): Promise<void> {
    // nothing held open: fetch keeps no connection the process must close
  }
}

/** `openai:BASE_URL#MODEL` as the CLI and settings write it. */
export function parseApiTeacher(spec: string): { baseUrl: string; model: string } {
  const rest = spec.replace(/^openai:/, '');
  const hash = rest.lastIndexOf('#');
  const baseUrl = hash > 0 ? rest.slice(0, hash) : '';
  const model = hash > 0 ? rest.slice(hash + 1) : '';
  if (!/^https?:\/\/[^/]/.test(baseUrl) || !model) {
    throw new Error(`"${spec}" is not openai:BASE_URL#MODEL (e.g. openai:https://api.openai.com/v1#gpt-4o-mini)`);
  }
  return { baseUrl, model };
}

import { defaultThreads } from '../threads.js';
import { LlamaWorkerHost } from '../models/llama-host.js';
import type { PassageInput } from './extractive-teacher.js';
import {
  ANSWER_SCHEMA, JUDGE_SCHEMA, PARAPHRASE_SCHEMA, QUESTIONS_SCHEMA, answerPrompt, cleanParaphrases, cleanQuestions, judgePrompt, paraphrasePrompt, questionPrompt,
  type Teacher, type TeacherPair, type TeacherStats,
} from './teacher.js';

/**
 * A local GGUF model as teacher, through node-llama-cpp in a supervised worker process (a model llama.cpp
 * aborts on ends only the worker; the error names the file): questions first, then one answer per question,
 * each output constrained by a JSON-schema grammar so it always parses. Several passages are in flight at
 * once, one per context sequence, so llama.cpp batches their tokens together.
 */
/** The teacher's outputs, each constrained by its schema's grammar in the worker. */
const SCHEMAS = { questions: QUESTIONS_SCHEMA, answer: ANSWER_SCHEMA, paraphrase: PARAPHRASE_SCHEMA, judge: JUDGE_SCHEMA } as const;
type SchemaName = keyof typeof SCHEMAS;

export class LocalTeacher implements Teacher {
  readonly kind = 'local' as const;
  readonly stats: TeacherStats = { outputs: 0, unparsable: 0 };

  private constructor(private readonly host: LlamaWorkerHost, readonly parallel: number) {}

  static async load(modelPath: string, options: { parallel?: number; threads?: number } = {}): Promise<LocalTeacher> {
    const parallel = Math.max(1, options.parallel ?? 4);
    const host = await LlamaWorkerHost.open({ modelPath, kind: 'teacher', parallel, threads: options.threads ?? (await defaultThreads()), contextSize: 2048, schemas: SCHEMAS });
    return new LocalTeacher(host, parallel);
  }

  private async ask<T>(prompt: string, schema: SchemaName, maxTokens: number): Promise<T | null> {
    const r = await this.host.ask<T>(prompt, schema, maxTokens);
    this.stats.outputs++;
    if (r === null) this.stats.unparsable++;
    return r;
  }

  /**
   * The passage cut to what fits the context with room for the prompt's other words and the reply (a small
   * model's context can be shorter than a passage). The grounding check still reads the whole passage.
   */
  private async fit(p: PassageInput, replyTokens: number): Promise<PassageInput> {
    const text = await this.host.fit(p.text, Math.max(32, this.host.contextSize - replyTokens - 160));
    return text === p.text ? p : { ...p, text };
  }

  /** Questions for a passage, then an answer with evidence for each (questions answered concurrently). */
  async pairsFor(full: PassageInput, maxQuestions: number): Promise<TeacherPair[]> {
    const p = await this.fit(full, 500);
    const q = await this.ask<{ questions: string[] }>(questionPrompt(p, maxQuestions), 'questions', 400);
    const questions = cleanQuestions(q?.questions ?? [], maxQuestions);
    const answers = await Promise.all(questions.map((question) => this.ask<{ answer: string; evidence: string }>(answerPrompt(p, question), 'answer', 500)));
    return questions.flatMap((question, i) => {
      const a = answers[i];
      return a ? [{ question, answer: a.answer.trim(), evidence: a.evidence.trim() }] : [];
    });
  }

  async paraphrase(question: string, language: string, k: number): Promise<string[]> {
    const r = await this.ask<{ paraphrases: string[] }>(paraphrasePrompt(question, language, k), 'paraphrase', 400);
    return cleanParaphrases(question, r?.paraphrases ?? [], k);
  }

  async judge(question: string, reference: string, answer: string): Promise<number | null> {
    // The reference and answer are short; the question and both are cut only if a tiny context demands it.
    const third = Math.floor(Math.max(64, this.host.contextSize - 200) / 3);
    const [q, ref, a] = await Promise.all([question, reference, answer].map((t) => this.host.fit(t, third)));
    const r = await this.ask<{ score: number }>(judgePrompt(q!, ref!, a!), 'judge', 20);
    return r?.score ?? null;
  }

  async dispose(): Promise<void> {
    await this.host.close();
  }
}

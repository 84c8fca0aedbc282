import { getLlama, LlamaChat, LlamaLogLevel, resolveChatWrapper, type Llama, type LlamaContext, type LlamaJsonSchemaGrammar, type LlamaModel } from 'node-llama-cpp';
import { DocTuneError } from '../errors.js';
import type { PassageInput } from './extractive-teacher.js';
import {
  ANSWER_SCHEMA, answerPrompt, cleanParaphrases, cleanQuestions, JUDGE_SCHEMA, judgePrompt, PARAPHRASE_SCHEMA, paraphrasePrompt, QUESTIONS_SCHEMA, questionPrompt,
  type Teacher, type TeacherPair, type TeacherStats,
} from './teacher.js';

/**
 * A local GGUF model as teacher, through node-llama-cpp: questions first, then one answer per question, each
 * output constrained by a JSON-schema grammar so it always parses. Several passages are in flight at once,
 * one per context sequence, so llama.cpp batches their tokens together.
 */
export class LocalTeacher implements Teacher {
  readonly kind = 'local' as const;
  private readonly free: LlamaChat[];
  private readonly waiting: ((chat: LlamaChat) => void)[] = [];
  readonly stats: TeacherStats = { outputs: 0, unparsable: 0 };

  private constructor(
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    chats: LlamaChat[],
    private readonly questionsGrammar: LlamaJsonSchemaGrammar<typeof QUESTIONS_SCHEMA>,
    private readonly answerGrammar: LlamaJsonSchemaGrammar<typeof ANSWER_SCHEMA>,
    private readonly paraphraseGrammar: LlamaJsonSchemaGrammar<typeof PARAPHRASE_SCHEMA>,
    private readonly judgeGrammar: LlamaJsonSchemaGrammar<typeof JUDGE_SCHEMA>,
  ) {
    this.free = chats;
    this.parallel = chats.length;
  }

  readonly parallel: number;

  static async load(modelPath: string, options: { parallel?: number; threads?: number; gpu?: boolean } = {}): Promise<LocalTeacher> {
    const parallel = Math.max(1, options.parallel ?? 4);
    const llama = await getLlama({ gpu: options.gpu ? 'auto' : false, logLevel: LlamaLogLevel.error, logger: () => undefined });
    try {
      const model = await llama.loadModel({ modelPath, gpuLayers: options.gpu ? 'auto' : 0 });
      const context = await model.createContext({ sequences: parallel, threads: options.threads ?? 1, contextSize: Math.min(model.trainContextSize, 2048), batchSize: 512 * Math.min(parallel, 4) });
      const wrapper = resolveChatWrapper(model);
      const chats = Array.from({ length: parallel }, () => new LlamaChat({ contextSequence: context.getSequence(), chatWrapper: wrapper }));
      const qg = await llama.createGrammarForJsonSchema(QUESTIONS_SCHEMA);
      const ag = await llama.createGrammarForJsonSchema(ANSWER_SCHEMA);
      const pg = await llama.createGrammarForJsonSchema(PARAPHRASE_SCHEMA);
      const jg = await llama.createGrammarForJsonSchema(JUDGE_SCHEMA);
      return new LocalTeacher(llama, model, context, chats, qg, ag, pg, jg);
    } catch (err) {
      await llama.dispose();
      throw new DocTuneError('MODEL', `cannot load the teacher model: ${(err as Error).message}`, { path: modelPath, cause: err });
    }
  }

  private acquire(): Promise<LlamaChat> {
    const chat = this.free.pop();
    return chat ? Promise.resolve(chat) : new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(chat: LlamaChat): void {
    const next = this.waiting.shift();
    if (next) next(chat);
    else this.free.push(chat);
  }

  private async ask<S extends typeof QUESTIONS_SCHEMA | typeof ANSWER_SCHEMA | typeof PARAPHRASE_SCHEMA | typeof JUDGE_SCHEMA>(prompt: string, grammar: LlamaJsonSchemaGrammar<S>, maxTokens: number): Promise<ReturnType<LlamaJsonSchemaGrammar<S>['parse']> | null> {
    const chat = await this.acquire();
    try {
      const { response } = await chat.generateResponse([{ type: 'user', text: prompt }, { type: 'model', response: [] }], { grammar, maxTokens, temperature: 0 });
      this.stats.outputs++;
      try {
        return grammar.parse(response);
      } catch {
        this.stats.unparsable++;
        return null;
      }
    } finally {
      this.release(chat);
    }
  }

  /** Questions for a passage, then an answer with evidence for each (questions answered concurrently). */
  /**
   * The passage cut to what fits the context with room for the prompt's other words and the reply (a small
   * model's context can be shorter than a passage). The grounding check still reads the whole passage.
   */
  private fit(p: PassageInput, replyTokens: number): PassageInput {
    const budget = this.context.contextSize - replyTokens - 160;
    const tokens = this.model.tokenize(p.text);
    if (tokens.length <= budget) return p;
    return { ...p, text: this.model.detokenize(tokens.slice(0, Math.max(32, budget))) };
  }

  async pairsFor(full: PassageInput, maxQuestions: number): Promise<TeacherPair[]> {
    const p = this.fit(full, 500);
    const q = await this.ask(questionPrompt(p, maxQuestions), this.questionsGrammar, 400);
    const questions = cleanQuestions(q?.questions ?? [], maxQuestions);
    const answers = await Promise.all(questions.map((question) => this.ask(answerPrompt(p, question), this.answerGrammar, 500)));
    return questions.flatMap((question, i) => {
      const a = answers[i];
      return a ? [{ question, answer: a.answer.trim(), evidence: a.evidence.trim() }] : [];
    });
  }

  async paraphrase(question: string, language: string, k: number): Promise<string[]> {
    const r = await this.ask(paraphrasePrompt(question, language, k), this.paraphraseGrammar, 400);
    return cleanParaphrases(question, r?.paraphrases ?? [], k);
  }

  async judge(question: string, reference: string, answer: string): Promise<number | null> {
    // The reference and answer are short; the question and both are cut only if a tiny context demands it.
    const budget = Math.max(64, this.context.contextSize - 200);
    const cut = (t: string): string => {
      const tokens = this.model.tokenize(t);
      return tokens.length <= budget / 3 ? t : this.model.detokenize(tokens.slice(0, Math.floor(budget / 3)));
    };
    const r = await this.ask(judgePrompt(cut(question), cut(reference), cut(answer)), this.judgeGrammar, 20);
    return r?.score ?? null;
  }

  async dispose(): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }
}

import { getLlama, LlamaChat, LlamaLogLevel, resolveChatWrapper, type Llama, type LlamaContext, type LlamaJsonSchemaGrammar, type LlamaModel } from 'node-llama-cpp';
import { DocTuneError } from '../errors.js';
import type { PassageInput } from './extractive-teacher.js';

export interface TeacherPair {
  question: string;
  answer: string;
  /** The sentence of the passage the teacher says its answer rests on (checked by the caller). */
  evidence: string;
}

export interface TeacherStats {
  /** Model outputs produced; every one is constrained by a JSON-schema grammar. */
  outputs: number;
  /** Outputs that did not parse or validate (the grammar makes this 0). */
  unparsable: number;
}

const QUESTIONS_SCHEMA = {
  type: 'object',
  properties: { questions: { type: 'array', items: { type: 'string', minLength: 5, maxLength: 300 }, minItems: 1, maxItems: 8 } },
  required: ['questions'],
} as const;

const ANSWER_SCHEMA = {
  type: 'object',
  properties: { answer: { type: 'string', minLength: 1, maxLength: 800 }, evidence: { type: 'string', maxLength: 800 } },
  required: ['answer', 'evidence'],
} as const;

function questionPrompt(p: PassageInput, n: number): string {
  const where = p.heading.length ? p.heading.join(' > ') : p.title;
  return p.language === 'zh'
    ? `下面是《${p.title}》中“${where}”部分的一段文字。请提出最多${n}个可以仅凭这段文字回答的问题，用中文，以 JSON 输出。\n\n${p.text}`
    : `Below is a passage from "${p.title}" (section: ${where}). Write up to ${n} questions that the passage alone answers, in English, as JSON.\n\n${p.text}`;
}

function answerPrompt(p: PassageInput, question: string): string {
  return p.language === 'zh'
    ? `仅根据下面的文字回答问题，并把所依据的原句原样填入 evidence。\n\n文字：${p.text}\n\n问题：${question}`
    : `Answer the question using only the passage below, and copy the sentence you relied on, word for word, into "evidence".\n\nPassage: ${p.text}\n\nQuestion: ${question}`;
}

/**
 * A local GGUF model as teacher, through node-llama-cpp: questions first, then one answer per question, each
 * output constrained by a JSON-schema grammar so it always parses. Several passages are in flight at once,
 * one per context sequence, so llama.cpp batches their tokens together.
 */
export class LocalTeacher {
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
  ) {
    this.free = chats;
  }

  static async load(modelPath: string, options: { parallel?: number; threads?: number; gpu?: boolean } = {}): Promise<LocalTeacher> {
    const parallel = Math.max(1, options.parallel ?? 4);
    const llama = await getLlama({ gpu: options.gpu ? 'auto' : false, logLevel: LlamaLogLevel.error, logger: () => undefined });
    try {
      const model = await llama.loadModel({ modelPath, gpuLayers: options.gpu ? 'auto' : 0 });
      const context = await model.createContext({ sequences: parallel, threads: options.threads ?? 1, contextSize: Math.min(model.trainContextSize, 1024), batchSize: 512 * Math.min(parallel, 4) });
      const wrapper = resolveChatWrapper(model);
      const chats = Array.from({ length: parallel }, () => new LlamaChat({ contextSequence: context.getSequence(), chatWrapper: wrapper }));
      const qg = await llama.createGrammarForJsonSchema(QUESTIONS_SCHEMA);
      const ag = await llama.createGrammarForJsonSchema(ANSWER_SCHEMA);
      return new LocalTeacher(llama, model, context, chats, qg, ag);
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

  private async ask<S extends typeof QUESTIONS_SCHEMA | typeof ANSWER_SCHEMA>(prompt: string, grammar: LlamaJsonSchemaGrammar<S>, maxTokens: number): Promise<ReturnType<LlamaJsonSchemaGrammar<S>['parse']> | null> {
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
  async pairsFor(p: PassageInput, maxQuestions: number): Promise<TeacherPair[]> {
    const q = await this.ask(questionPrompt(p, maxQuestions), this.questionsGrammar, 400);
    const questions = (q?.questions ?? []).map((s) => s.trim()).filter(Boolean).slice(0, maxQuestions);
    const answers = await Promise.all(questions.map((question) => this.ask(answerPrompt(p, question), this.answerGrammar, 500)));
    return questions.flatMap((question, i) => {
      const a = answers[i];
      return a ? [{ question, answer: a.answer.trim(), evidence: a.evidence.trim() }] : [];
    });
  }

  async dispose(): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }
}

/**
 * Questions to a model the request names (the command line's `chat` and `eval`), where the app's chat
 * window uses the workspace's chat settings (ChatDoor): one answer, a conversation kept loaded, and the
 * evaluation of an adapter on its run's held-out pairs. Passages come from the engine's workspace by the
 * same retrieval as the app's chat, so a score is measured on the chat users get.
 */
import type { SearchHit } from '../../shared/contract.js';
import { ChatHost } from '../chat/chat-host.js';
import { withPassages } from '../chat/rag-prompt.js';
import { retrievePassages } from '../chat/retrieve.js';
import { openJudge, type TeacherChoice } from '../dataset/generate.js';
import { DocTuneError } from '../errors.js';
import { runEval, type EvalResult } from '../eval/run-eval.js';
import { logged } from '../log.js';
import type { Embedder } from '../models/embedder.js';
import type { Conversation } from '../models/messages.js';
import { resolveModelArg } from '../models/model-arg.js';
import type { Workspace } from '../store/workspace.js';
import type { JobSlots } from './job-slots.js';

/** The evaluation's words (the report's), for a caller that prints the scores itself. */
export { REPORT_TEXT } from '../eval/report-text.js';
export type { VariantScores } from '../eval/variants.js';

export interface AskModels {
  /** The base model: a GGUF path, hf: URI or Ollama model name. */
  model: string;
  /** The adapter file (resolveAdapterArg finds it in a run's folder). */
  adapter?: string | undefined;
  scale?: number;
  /** Answer with the base model as well, beside the adapted one. */
  compare?: boolean;
  /** Retrieve passages from the workspace into the prompt, and cite them. */
  rag?: boolean;
  maxTokens: number;
  /** Sampling (temperature 0: greedy). */
  temperature: number;
  topP?: number;
}

export interface Cited {
  n: number;
  title: string;
  page: number | null;
  heading: string[];
  chunkId: string;
}

export interface Answer {
  /** Labelled when the base model answers too ('base', then 'adapted'). */
  side: 'base' | 'adapted' | null;
  text: string;
}

/** A conversation with the models loaded once: each question answered with the ones before. */
export interface AskConversation {
  readonly sides: readonly ('base' | 'adapted' | null)[];
  answer(messages: Conversation, o: { onSide?: (side: Answer['side']) => void; onToken?: (side: Answer['side'], text: string) => void; signal?: AbortSignal }): Promise<{ answers: Answer[]; citations: Cited[] }>;
  close(): Promise<void>;
}

const cite = (used: readonly SearchHit[]): Cited[] => used.map((h, i) => ({ n: i + 1, title: h.title, page: h.page, heading: h.heading, chunkId: h.chunkId }));

export class AskDoor {
  constructor(
    private readonly ws: () => Promise<Workspace>,
    private readonly embedder: (ws: Workspace) => Promise<Embedder | null>,
    private readonly threads: number | undefined,
    private readonly jobs: JobSlots,
  ) {}

  private check(r: AskModels): void {
    if (r.compare && !r.adapter) throw new DocTuneError('BAD_ARGUMENT', 'comparing needs an adapter to compare with the base model');
  }

  /** The sides that answer, in order: the base model first when comparing. */
  private sides(r: AskModels): ('base' | 'adapted' | null)[] {
    return r.compare ? ['base', 'adapted'] : [null];
  }

  private open(modelPath: string, adapter: string | undefined, scale: number): Promise<ChatHost> {
    return ChatHost.open({ modelPath, ...(adapter ? { adapterPath: adapter } : {}), scale, ...(this.threads ? { threads: this.threads } : {}), parallel: 1 });
  }

  private async passages(r: AskModels, question: string): Promise<SearchHit[]> {
    if (!r.rag) return [];
    const ws = await this.ws();
    return retrievePassages(ws, question, await this.embedder(ws));
  }

  private sampling(r: AskModels): { maxTokens: number; temperature: number; topP?: number } {
    return { maxTokens: r.maxTokens, temperature: r.temperature, ...(r.temperature > 0 && r.topP !== undefined ? { topP: r.topP } : {}) };
  }

  /** One question: each side's model loaded in turn (one in memory at a time), the same passages for both. */
  async ask(r: AskModels, question: string): Promise<{ answers: Answer[]; citations: Cited[] }> {
    this.check(r);
    const modelPath = await resolveModelArg(r.model);
    const hits = await this.passages(r, question);
    const answers: Answer[] = [];
    let citations: Cited[] = [];
    // The adapted model first: a failing adapter is said before the base model is loaded for nothing.
    for (const side of [...this.sides(r)].reverse()) {
      const host = await this.open(modelPath, side === 'base' ? undefined : r.adapter, r.scale ?? 1);
      try {
        // The passages that fit the model's context beside the question and the answer, and only those cited.
        const { messages, used } = await withPassages(host, [{ role: 'user', content: question }], hits, r.maxTokens);
        citations = cite(used);
        answers.unshift({ side, text: (await host.generate(messages, this.sampling(r))).text });
      } finally {
        await host.close();
      }
    }
    return { answers, citations };
  }

  /** A conversation: the models stay loaded until closed. */
  async converse(r: AskModels): Promise<AskConversation> {
    this.check(r);
    const modelPath = await resolveModelArg(r.model);
    const sides = this.sides(r);
    const hosts: ChatHost[] = [];
    const close = async (): Promise<void> => {
      for (const h of hosts.splice(0)) await h.close().catch(logged('closing a chat model'));
    };
    try {
      for (const side of sides) hosts.push(await this.open(modelPath, side === 'base' ? undefined : r.adapter, r.scale ?? 1));
    } catch (err) {
      await close();
      throw err;
    }
    return {
      sides,
      answer: async (messages, o) => {
        const question = messages.findLast((m) => m.role === 'user');
        if (!question) throw new DocTuneError('BAD_ARGUMENT', 'the conversation has no question to answer');
        const hits = await this.passages(r, question.content);
        const answers: Answer[] = [];
        let citations: Cited[] = [];
        for (const [i, side] of sides.entries()) {
          if (o.signal?.aborted) break;
          const host = hosts[i]!;
          o.onSide?.(side);
          const { messages: prompt, used } = await withPassages(host, messages, hits, r.maxTokens);
          const g = await host.generate(prompt, { ...this.sampling(r), ...(o.signal ? { signal: o.signal } : {}), ...(o.onToken ? { onToken: (t: string) => o.onToken!(side, t) } : {}) });
          answers.push({ side, text: g.text });
          citations = cite(used);
        }
        return { answers, citations };
      },
      close,
    };
  }

  /**
   * Base and adapted answers to the run's held-out pairs, scored (and, with a judge, graded), with an HTML
   * report in the workspace's reports when there is a workspace. In the evaluation slot.
   */
  async evaluate(r: {
    model: string; adapter: string; rag?: boolean; runPath?: string | undefined; judge?: TeacherChoice | null; maxQuestions?: number;
    useWorkspace: boolean; signal?: AbortSignal; onProgress?: (done: number, total: number) => void;
  }): Promise<EvalResult> {
    if (r.judge === 'extractive') throw new DocTuneError('BAD_ARGUMENT', 'the extractive teacher cannot grade answers: a judge is a local model or an API');
    if (r.rag && !r.useWorkspace) throw new DocTuneError('BAD_ARGUMENT', 'answering with retrieved passages needs a workspace to retrieve from');
    const modelPath = await resolveModelArg(r.model);
    const ws = r.useWorkspace ? await this.ws() : null;
    const embedder = ws && r.rag ? await this.embedder(ws) : null;
    return this.jobs.run('evaluate', async (job) => {
      const judge = r.judge ? await openJudge(r.judge) : null;
      try {
        return await runEval({
          modelPath, adapterPath: r.adapter, workspace: ws, rag: Boolean(r.rag), embedder, signal: job.signal,
          ...(r.maxQuestions !== undefined ? { maxQuestions: r.maxQuestions } : {}), ...(this.threads ? { threads: this.threads } : {}),
          ...(r.runPath ? { runPath: r.runPath } : {}),
          ...(judge ? { judge } : {}),
          ...(r.onProgress ? { onProgress: r.onProgress } : {}),
        });
      } finally {
        await judge?.teacher.dispose().catch(logged('closing the judge model'));
      }
    }, r.signal ? { signal: r.signal } : {});
  }
}

/**
 * `doctune eval`: the held-out QA pairs of a training run (recorded in its run.json, never trained on),
 * answered by the base model and the adapted model, each with and without passages retrieved from the
 * workspace (RAG), scored by token F1 and exact match. The models run in supervised workers.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { ChatHost } from '../chat/chat-host.js';
import { DocTuneError } from '../errors.js';
import { searchWorkspace } from '../store/search.js';
import type { Workspace } from '../store/workspace.js';
import type { Conversation } from '../train/sft-data.js';
import { writeEvalReport } from './report-html.js';
import { exactMatch, tokenF1 } from './score.js';

export const VARIANTS = ['base', 'adapted', 'base_rag', 'adapted_rag'] as const;
export type Variant = (typeof VARIANTS)[number];
const LABEL: Record<Variant, string> = { base: 'base', adapted: 'adapted', base_rag: 'base + RAG', adapted_rag: 'adapted + RAG' };

export interface EvalItem {
  question: string;
  reference: string;
  answers: Record<Variant, string>;
  f1: Record<Variant, number>;
  em: Record<Variant, number>;
  /** Passages given to the RAG variants: document, page, heading. */
  citations: { title: string; page: number | null; heading: string[] }[];
}

export interface EvalResult {
  n: number;
  base: { f1: number; em: number };
  adapted: { f1: number; em: number };
  base_rag: { f1: number; em: number };
  adapted_rag: { f1: number; em: number };
  report: string;
  items: EvalItem[];
  /** Answers the model could not give (they score 0), with the reason. */
  failures: string[];
}

export interface EvalOptions {
  modelPath: string;
  adapterPath: string;
  /** run.json of the training run (default: next to the adapter). */
  runPath?: string;
  workspace?: Workspace | null;
  rag?: boolean;
  maxQuestions?: number;
  threads?: number;
  onProgress?: (done: number, total: number) => void;
}

/** The held-out (question, reference answer) pairs a run recorded. */
export async function heldOutPairs(runPath: string): Promise<{ question: string; reference: string }[]> {
  let run: { held_out?: Conversation[] };
  try {
    run = JSON.parse(await fs.readFile(runPath, 'utf8')) as typeof run;
  } catch (err) {
    throw new DocTuneError('NOT_FOUND', `no readable run record: ${(err as Error).message}`, { path: runPath });
  }
  const pairs = (run.held_out ?? []).flatMap((conv) => {
    const answer = conv.findLast((m) => m.role === 'assistant');
    const question = conv.findLast((m) => m.role === 'user');
    return answer && question ? [{ question: question.content, reference: answer.content }] : [];
  });
  if (!pairs.length) throw new DocTuneError('BAD_ARGUMENT', 'the run held nothing out for evaluation (train with --eval-split above 0)', { path: runPath });
  return pairs;
}

function ragPrompt(question: string, passages: { text: string; title: string }[]): string {
  const context = passages.map((p, i) => `[${i + 1}] (${p.title}) ${p.text}`).join('\n\n');
  return `Answer the question using the passages below.\n\n${context}\n\nQuestion: ${question}`;
}

const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

export async function runEval(o: EvalOptions): Promise<EvalResult> {
  const runPath = o.runPath ?? path.join(path.dirname(path.resolve(o.adapterPath)), 'run.json');
  const pairs = (await heldOutPairs(runPath)).slice(0, o.maxQuestions ?? 200);
  if (o.rag && !o.workspace) throw new DocTuneError('BAD_ARGUMENT', 'retrieval (--rag) needs a workspace (--workspace DIR)');
  const hosts = {
    base: await ChatHost.open({ modelPath: o.modelPath, threads: o.threads ?? 1, parallel: 1 }),
    adapted: await ChatHost.open({ modelPath: o.modelPath, adapterPath: o.adapterPath, threads: o.threads ?? 1, parallel: 1 }),
  };
  const items: EvalItem[] = [];
  const failures: string[] = [];
  try {
    for (const [i, p] of pairs.entries()) {
      const hits = o.rag && o.workspace ? await searchWorkspace(o.workspace, p.question, 3, null) : [];
      const answers = {} as Record<Variant, string>;
      const maxTokens = Math.min(256, 32 + 2 * p.reference.length);
      for (const v of VARIANTS) {
        const rag = v.endsWith('_rag');
        if (rag && !o.rag) {
          answers[v] = '';
          continue;
        }
        const host = v.startsWith('adapted') ? hosts.adapted : hosts.base;
        const prompt = rag ? ragPrompt(p.question, hits.map((h) => ({ text: h.text, title: h.title }))) : p.question;
        try {
          answers[v] = (await host.generate([{ role: 'user', content: prompt }], { maxTokens, temperature: 0 })).text.trim();
        } catch (err) {
          // e.g. retrieved passages that do not fit a small model's context: scored as no answer, and said
          if (!(err instanceof DocTuneError) || err.code === 'CANCELLED') throw err;
          answers[v] = '';
          failures.push(`${LABEL[v]}: ${err.message}`);
        }
      }
      const f1 = {} as Record<Variant, number>;
      const em = {} as Record<Variant, number>;
      for (const v of VARIANTS) {
        f1[v] = tokenF1(answers[v], p.reference);
        em[v] = exactMatch(answers[v], p.reference);
      }
      items.push({ question: p.question, reference: p.reference, answers, f1, em, citations: hits.map((h) => ({ title: h.title, page: h.page, heading: h.heading })) });
      o.onProgress?.(i + 1, pairs.length);
    }
  } finally {
    await hosts.base.close();
    await hosts.adapted.close();
  }
  const score = (v: Variant): { f1: number; em: number } => ({ f1: mean(items.map((x) => x.f1[v])), em: mean(items.map((x) => x.em[v])) });
  const summary = { n: items.length, base: score('base'), adapted: score('adapted'), base_rag: score('base_rag'), adapted_rag: score('adapted_rag') };
  const dir = o.workspace ? path.join(o.workspace.dir, 'reports') : path.dirname(runPath);
  const report = await writeEvalReport(dir, { ...summary, rag: Boolean(o.rag), model: o.modelPath, adapter: o.adapterPath, items });
  return { ...summary, report, items, failures };
}

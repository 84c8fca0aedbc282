/**
 * `doctune eval`: the held-out QA pairs of a training run (recorded in its run.json, never trained on),
 * answered by the base model and the adapted model, each with and without passages retrieved from the
 * workspace (RAG), scored by token F1 and exact match, and optionally graded by a judge model (the
 * teacher). The models run in supervised workers.
 */
import path from 'node:path';
import { ChatHost } from '../chat/chat-host.js';
import { withPassages } from '../chat/rag-prompt.js';
import type { Teacher } from '../dataset/teacher.js';
import { DocTuneError } from '../errors.js';
import type { Workspace } from '../store/workspace.js';
import type { Conversation } from '../models/messages.js';
import { evalReliability, type EvalExamples, type EvalReliability } from '../../shared/eval-reliability.js';
import { writeEvalReport } from './report-html.js';
import { REPORT_TEXT, userReportLanguage, type ReportLanguage } from './report-text.js';
import { exactMatch, tokenF1 } from './score.js';
import { VARIANTS, type EvalItem, type Variant, type VariantScores } from './variants.js';
import { readRunRecord } from '../train/run-record.js';
import { openWorkspaceEmbedder, retrievePassages } from '../chat/retrieve.js';
import type { Embedder } from '../models/embedder.js';

const LABEL: Record<Variant, string> = { base: 'base', adapted: 'adapted', base_rag: 'base + RAG', adapted_rag: 'adapted + RAG' };

export interface EvalResult {
  n: number;
  base: VariantScores;
  adapted: VariantScores;
  base_rag: VariantScores;
  adapted_rag: VariantScores;
  rag: boolean;
  /** The judging model's name, if one graded the answers. */
  judge: string | null;
  report: string;
  items: EvalItem[];
  /** Answers the model could not give (they score 0) or the judge could not grade, with the reason. */
  failures: string[];
  /** How far the scores can be read, from the number of questions (fewer than 20: indicative; under 5: no measure). */
  reliability: EvalReliability;
  /** That judgement in words (English), or null when the number of questions supports a comparison. */
  warning: string | null;
  /** The run's split into examples trained on and held out (null: the run did not record it). */
  examples: EvalExamples | null;
}

export interface EvalOptions {
  modelPath: string;
  adapterPath: string;
  /** run.json of the training run (default: next to the adapter). */
  runPath?: string;
  workspace?: Workspace | null;
  rag?: boolean;
  /** The workspace's embedding model for retrieval (as chat uses it); by default the one its settings name is loaded. */
  embedder?: Embedder | null;
  maxQuestions?: number;
  threads?: number;
  /** A model that grades each answer against the reference (the teacher), and the name the report gives it. */
  judge?: { teacher: Teacher; name: string };
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** The report file's language (default: the user's, from the environment; English if none). */
  lang?: ReportLanguage;
}

/** The examples a run trained on and held out, as its run.json records them (null: not recorded). */
export async function runExamples(runPath: string): Promise<EvalExamples | null> {
  return (await readRunRecord(runPath))?.examples ?? null;
}

/** The held-out (question, reference answer) pairs a run recorded. */
export async function heldOutPairs(runPath: string): Promise<{ question: string; reference: string }[]> {
  const run = await readRunRecord(runPath);
  if (!run) throw new DocTuneError('NOT_FOUND', 'no run record (run.json): give the training run with --run', { path: runPath });
  const pairs = run.held_out.flatMap((conv) => {
    const answer = conv.findLast((m) => m.role === 'assistant');
    const question = conv.findLast((m) => m.role === 'user');
    return answer && question ? [{ question: question.content, reference: answer.content }] : [];
  });
  if (!pairs.length) throw new DocTuneError('BAD_ARGUMENT', 'the run held nothing out for evaluation (train with --eval-split above 0)', { path: runPath });
  return pairs;
}

const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

export async function runEval(o: EvalOptions): Promise<EvalResult> {
  const runPath = o.runPath ?? path.join(path.dirname(path.resolve(o.adapterPath)), 'run.json');
  const pairs = (await heldOutPairs(runPath)).slice(0, o.maxQuestions ?? 200);
  if (o.rag && !o.workspace) throw new DocTuneError('BAD_ARGUMENT', 'retrieval (--rag) needs a workspace (--workspace DIR)');
  if (o.signal?.aborted) throw new DocTuneError('CANCELLED', 'the evaluation was cancelled');
  // Retrieval as chat does it: with the workspace's embedding model, loaded here when the caller has none.
  const ownEmbedder = o.rag && o.workspace && o.embedder === undefined ? await openWorkspaceEmbedder(o.workspace, o.threads) : null;
  const embedder = o.embedder ?? ownEmbedder;
  const base = await ChatHost.open({ modelPath: o.modelPath, ...(o.threads ? { threads: o.threads } : {}), parallel: 1 }).catch(async (err: unknown) => {
    await ownEmbedder?.dispose();
    throw err;
  });
  const adapted = await ChatHost.open({ modelPath: o.modelPath, adapterPath: o.adapterPath, ...(o.threads ? { threads: o.threads } : {}), parallel: 1 }).catch(async (err: unknown) => {
    await base.close();
    await ownEmbedder?.dispose();
    throw err;
  });
  const hosts = { base, adapted };
  const items: EvalItem[] = [];
  const failures: string[] = [];
  let judge = o.judge ?? null;
  let judgeFailed = false;
  let ungraded = 0;
  try {
    for (const [i, p] of pairs.entries()) {
      if (o.signal?.aborted) throw new DocTuneError('CANCELLED', 'the evaluation was cancelled');
      const hits = o.rag && o.workspace ? await retrievePassages(o.workspace, p.question, embedder) : [];
      const answers = {} as Record<Variant, string>;
      const maxTokens = Math.min(256, 32 + 2 * p.reference.length);
      let citations: EvalItem['citations'] = [];
      for (const v of VARIANTS) {
        const rag = v.endsWith('_rag');
        if (rag && !o.rag) {
          answers[v] = '';
          continue;
        }
        const host = v.startsWith('adapted') ? hosts.adapted : hosts.base;
        try {
          let messages: Conversation = [{ role: 'user', content: p.question }];
          if (rag) {
            const fitted = await withPassages(host, messages, hits, maxTokens);
            messages = fitted.messages;
            citations = fitted.used.map((h) => ({ title: h.title, page: h.page, heading: h.heading }));
          }
          answers[v] = (await host.generate(messages, { maxTokens, temperature: 0, ...(o.signal ? { signal: o.signal } : {}) })).text.trim();
        } catch (err) {
          if (!(err instanceof DocTuneError) || err.code === 'CANCELLED') throw err;
          answers[v] = '';
          failures.push(`${LABEL[v]}: ${err.message}`);
        }
      }
      const f1 = {} as Record<Variant, number>;
      const em = {} as Record<Variant, number>;
      const grades = {} as Record<Variant, number | null>;
      for (const v of VARIANTS) {
        f1[v] = tokenF1(answers[v], p.reference);
        em[v] = exactMatch(answers[v], p.reference);
        grades[v] = null;
        if (!judge || (v.endsWith('_rag') && !o.rag)) continue;
        if (!answers[v]) {
          grades[v] = 1; // no answer is a wrong answer; the judge need not be asked
          continue;
        }
        try {
          grades[v] = await judge.teacher.judge(p.question, p.reference, answers[v]);
          if (grades[v] === null) ungraded++;
        } catch (err) {
          // A judge that fails (a wrong key, a server gone) fails for every answer: stop asking, say why.
          failures.push(`judge ${judge.name}: ${(err as Error).message}; no grades are reported`);
          judge = null;
          judgeFailed = true;
        }
      }
      items.push({ question: p.question, reference: p.reference, answers, f1, em, judge: grades, citations });
      o.onProgress?.(i + 1, pairs.length);
    }
  } finally {
    await hosts.base.close();
    await hosts.adapted.close();
    await ownEmbedder?.dispose();
  }
  // Grades of some questions only would compare the variants on different questions: none, then.
  if (judgeFailed) for (const item of items) for (const v of VARIANTS) item.judge[v] = null;
  if (ungraded) failures.push(`judge: ${ungraded} answer(s) got no readable grade`);
  const counted = new Map<string, number>();
  for (const f of failures) counted.set(f, (counted.get(f) ?? 0) + 1);
  failures.splice(0, failures.length, ...[...counted].map(([f, k]) => (k > 1 ? `${f} (×${k})` : f)));
  const score = (v: Variant): VariantScores => {
    const grades = items.map((x) => x.judge[v]).filter((g): g is number => g !== null);
    return { f1: mean(items.map((x) => x.f1[v])), em: mean(items.map((x) => x.em[v])), judge: grades.length ? mean(grades.map((g) => (g - 1) / 4)) : null };
  };
  const reliability = evalReliability(items.length);
  const summary = {
    n: items.length, base: score('base'), adapted: score('adapted'), base_rag: score('base_rag'), adapted_rag: score('adapted_rag'),
    rag: Boolean(o.rag), judge: o.judge?.name ?? null,
    reliability, warning: REPORT_TEXT.en.reliability(reliability, items.length), examples: await runExamples(runPath),
  };
  const dir = o.workspace ? path.join(o.workspace.dir, 'reports') : path.dirname(runPath);
  const { warning: _warning, ...recorded } = summary;
  const report = await writeEvalReport(dir, { ...recorded, model: o.modelPath, adapter: o.adapterPath, items, failures }, o.lang ?? userReportLanguage());
  return { ...summary, report, items, failures };
}

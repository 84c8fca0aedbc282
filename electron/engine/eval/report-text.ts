/**
 * The evaluation report's words in the languages of the app (English, Simplified Chinese), and which of them a
 * command-line user reads: the engine has no UI catalog, and the report is a file people keep and share.
 */
import type { EvalExamples, EvalReliability } from '../../shared/eval-reliability.js';

export const REPORT_LANGUAGES = ['en', 'zh-CN'] as const;
export type ReportLanguage = (typeof REPORT_LANGUAGES)[number];

export function isReportLanguage(value: unknown): value is ReportLanguage {
  return (REPORT_LANGUAGES as readonly unknown[]).includes(value);
}

/** The report language of a command-line user: DOCTUNE_LANG, else the locale's (LC_ALL, LC_MESSAGES, LANG); English by default. */
export function userReportLanguage(env: NodeJS.ProcessEnv = process.env): ReportLanguage {
  const tag = env.DOCTUNE_LANG || env.LC_ALL || env.LC_MESSAGES || env.LANG || '';
  return /^zh/i.test(tag) ? 'zh-CN' : 'en';
}

export interface ReportText {
  title: string;
  /** The line under the title (its arguments are HTML already: escaped names, a <time> element). */
  meta(n: number, model: string, adapter: string, when: string): string;
  variant: { base: string; adapted: string; base_rag: string; adapted_rag: string };
  colVariant: string;
  colF1: string;
  colEm: string;
  colJudge(name: string): string;
  metric: { f1: string; em: string; judge: string };
  chartLabel: string;
  worstTitle: string;
  colQuestion: string;
  colReference: string;
  colBase: string;
  colAdapted: string;
  colF1Change: string;
  failuresTitle: string;
  /** Null when the number of questions supports a comparison. */
  reliability(level: EvalReliability, n: number): string | null;
  /** Why the run's eval examples and the scored questions differ. */
  examples(split: EvalExamples, n: number): string;
}

const en: ReportText = {
  title: 'Evaluation',
  meta: (n, model, adapter, when) => `${n} held-out question${n === 1 ? '' : 's'} · model ${model} · adapter ${adapter} · ${when}`,
  variant: { base: 'Base', adapted: 'Adapted', base_rag: 'Base + RAG', adapted_rag: 'Adapted + RAG' },
  colVariant: 'Variant',
  colF1: 'Token F1',
  colEm: 'Exact match',
  colJudge: (name) => `Judge (${name})`,
  metric: { f1: 'F1', em: 'EM', judge: 'Judge' },
  chartLabel: 'Scores per variant',
  worstTitle: 'Worst-answered questions (adapted)',
  colQuestion: 'Question',
  colReference: 'Reference',
  colBase: 'Base',
  colAdapted: 'Adapted',
  colF1Change: 'F1 base → adapted',
  failuresTitle: 'Not answered or not graded',
  reliability: (level, n) =>
    level === 'insufficient'
      ? `Only ${n} question${n === 1 ? ' was' : 's were'} scored: the score cannot be read as a measure of the adapter. Hold out more pairs (more QA pairs, or a larger eval split) for a score you can compare.`
      : level === 'indicative'
        ? `Only ${n} questions were scored: the score is indicative only (a comparison needs 20 or more).`
        : null,
  examples: (split, n) =>
    `Training held out ${split.eval} of its ${split.train + split.eval} examples (${split.train} trained on); ${n} question${n === 1 ? ' is' : 's are'} scored here. ` +
    'Only conversations whose every example was held out are scored: a long conversation gives several examples, and an eval example whose conversation was also trained on would be scored on what the model saw.',
};

const zhCN: ReportText = {
  title: '评估',
  meta: (n, model, adapter, when) => `${n} 个留出问题 · 模型 ${model} · 适配器 ${adapter} · ${when}`,
  variant: { base: '基础模型', adapted: '适配后', base_rag: '基础模型 + RAG', adapted_rag: '适配后 + RAG' },
  colVariant: '变体',
  colF1: '词元 F1',
  colEm: '完全匹配',
  colJudge: (name) => `评分（${name}）`,
  metric: { f1: 'F1', em: 'EM', judge: '评分' },
  chartLabel: '各变体得分',
  worstTitle: '回答最差的问题（适配后）',
  colQuestion: '问题',
  colReference: '参考答案',
  colBase: '基础模型',
  colAdapted: '适配后',
  colF1Change: 'F1 基础 → 适配后',
  failuresTitle: '未回答或未评分',
  reliability: (level, n) =>
    level === 'insufficient'
      ? `只评了 ${n} 个问题：这个分数不能当作适配器的衡量。请留出更多问答对（更多问答对，或更大的评估比例），才能得到可比较的分数。`
      : level === 'indicative'
        ? `只评了 ${n} 个问题：分数仅供参考（可比较的分数需要 20 个或更多问题）。`
        : null,
  examples: (split, n) =>
    `训练从 ${split.train + split.eval} 个样本中留出了 ${split.eval} 个（训练用了 ${split.train} 个）；这里评了 ${n} 个问题。` +
    '只有全部样本都被留出的对话才会被评分：一段长对话会产生多个样本，而与训练样本同属一段对话的评估样本，模型已经见过其中内容。',
};

export const REPORT_TEXT: Record<ReportLanguage, ReportText> = { en, 'zh-CN': zhCN };

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { evalReliability } from '../../shared/eval-reliability.js';
import { tempDir } from '../testing/corpus.js';
import { readEvalReport, renderEvalReport, writeEvalReport, type ReportData } from './report-html.js';
import { userReportLanguage } from './report-text.js';
import type { EvalItem } from './variants.js';

const scores = { f1: 0.5, em: 0.25, judge: null };
const item = (question: string, reference: string): EvalItem => ({
  question, reference,
  answers: { base: 'no idea', adapted: reference, base_rag: '', adapted_rag: '' },
  f1: { base: 0, adapted: 1, base_rag: 0, adapted_rag: 0 },
  em: { base: 0, adapted: 1, base_rag: 0, adapted_rag: 0 },
  judge: { base: null, adapted: null, base_rag: null, adapted_rag: null },
  citations: [],
});
const data = (n: number): ReportData => ({
  n, rag: false, judge: null, model: '/m/model.gguf', adapter: '/r/adapter.gguf',
  base: scores, adapted: scores, base_rag: scores, adapted_rag: scores,
  items: Array.from({ length: n }, (_, i) => item(`Question ${i}?`, `Answer ${i}.`)), failures: [],
  examples: { train: 223, eval: 25 }, createdAt: '2026-01-02T03:04:05.000Z',
});
/** The score table, which the app's panel shows itself. */
const scoreTable = /<th>(Variant|变体)<\/th>/;

describe('the evaluation report', () => {
  it('judges reliability by the number of questions: under 5 no measure, under 20 indicative', () => {
    expect([0, 1, 4, 5, 19, 20, 200].map(evalReliability)).toEqual(['insufficient', 'insufficient', 'insufficient', 'indicative', 'indicative', 'sound', 'sound']);
  });

  it('warns about few questions and explains examples against questions, in English', () => {
    const one = renderEvalReport(data(1));
    expect(one).toContain('<html lang="en">');
    expect(one).toMatch(/data-testid="report-reliability">Only 1 question was scored: the score cannot be read as a measure of the adapter/);
    expect(one).toContain('Training held out 25 of its 248 examples (223 trained on); 1 question is scored here.');
    expect(one).toMatch(scoreTable);
    expect(renderEvalReport(data(12))).toMatch(/Only 12 questions were scored: the score is indicative only/);
    expect(renderEvalReport(data(20))).not.toContain('report-reliability');
  });

  it('is written in Chinese when asked, and leaves the score table out when embedded in the app', () => {
    const zh = renderEvalReport(data(3), { lang: 'zh-CN', embedded: true });
    expect(zh).toContain('<html lang="zh-CN">');
    expect(zh).toContain('<h1>评估</h1>');
    expect(zh).toMatch(/3 个留出问题 · 模型 model\.gguf · 适配器 adapter\.gguf · <time datetime="2026-01-02T03:04:05\.000Z">2026年1月2日/);
    // The panel around it shows the scores, the warning and the examples note.
    expect(zh).not.toMatch(scoreTable);
    expect(zh).not.toContain('report-reliability');
    expect(zh).not.toContain('report-examples');
    expect(zh).toContain('<body class="embedded">');
    const file = renderEvalReport(data(3), { lang: 'zh-CN' });
    expect(file).toMatch(/只评了 3 个问题：这个分数不能当作适配器的衡量/);
    expect(file).toContain('训练从 248 个样本中留出了 25 个（训练用了 223 个）');
    expect(file).toMatch(/<th>变体<\/th><th class="num">词元 F1<\/th><th class="num">完全匹配<\/th>/);
    // The chart and the worst answers stay.
    expect(zh).toContain('<svg');
    expect(zh).toContain('Question 0?');
  });

  it('follows a dark system theme and wraps long text rather than overflowing', () => {
    const html = renderEvalReport(data(1));
    expect(html).toMatch(/@media \(prefers-color-scheme:dark\)\{:root\{--bg:#1a1f27;--fg:#e4e8ee/);
    expect(html).toContain('overflow-wrap:anywhere');
    expect(html).toContain('table.wide{width:100%;table-layout:fixed}');
    expect(html).toMatch(/<svg [^>]*viewBox="0 0 560 \d+"/);
  });

  it('is shown again from its JSON in another language, with its data, and as written when there is none', async () => {
    const dir = tempDir('report');
    const file = await writeEvalReport(dir, data(2), 'en');
    expect(fs.readFileSync(file, 'utf8')).toContain('<html lang="en">');
    const again = await readEvalReport(dir, path.basename(file), { lang: 'zh-CN', embedded: true });
    expect(again.html).toContain('<html lang="zh-CN">');
    expect(again.html).toContain('<time datetime="2026-01-02T03:04:05.000Z">');
    expect(again.data).toMatchObject({ n: 2, reliability: 'insufficient', examples: { train: 223, eval: 25 } });
    // Data that is not a report's (a score that is not a number): the HTML as written, not a half-read report.
    const json = file.replace(/\.html$/, '.json');
    const written = JSON.parse(fs.readFileSync(json, 'utf8'));
    fs.writeFileSync(json, JSON.stringify({ ...written, adapted: { ...written.adapted, f1: 'high' } }));
    expect(await readEvalReport(dir, path.basename(file), { lang: 'zh-CN' })).toEqual({ html: fs.readFileSync(file, 'utf8'), data: null });
    fs.rmSync(json);
    expect(await readEvalReport(dir, path.basename(file), { lang: 'zh-CN' })).toEqual({ html: fs.readFileSync(file, 'utf8'), data: null });
    await expect(readEvalReport(dir, 'eval-none.html')).rejects.toThrow(/no such report/);
  });

  it('takes the command-line user\'s language from the environment, English by default', () => {
    expect(userReportLanguage({})).toBe('en');
    expect(userReportLanguage({ LANG: 'zh_CN.UTF-8' })).toBe('zh-CN');
    expect(userReportLanguage({ LANG: 'zh_CN.UTF-8', LC_ALL: 'en_US.UTF-8' })).toBe('en');
    expect(userReportLanguage({ LANG: 'de_DE.UTF-8', DOCTUNE_LANG: 'zh-CN' })).toBe('zh-CN');
  });
});

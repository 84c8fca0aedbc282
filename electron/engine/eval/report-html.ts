/**
 * The evaluation report: one self-contained HTML file (no scripts, no external assets) with the score
 * table, a bar chart (inline SVG) and the worst-answered questions with the base and adapted answers side
 * by side, and what could not be answered or graded; the same data as JSON beside it. The file is written in
 * the user's language; the app shows it again from the JSON in its own language, in its panel (embedded: the
 * panel shows the scores, the warning about few questions and the examples note itself). Light or dark follows the reader's system, and long text wraps.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { evalReliability, EvalExamples, EvalReliability } from '../../shared/eval-reliability.js';
import { log } from '../log.js';
import { recordFormat } from '../versioned-record.js';
import { writeFileAtomic } from '../atomic-write.js';
import { DocTuneError } from '../errors.js';
import type { EvalItem, Variant, VariantScores } from './variants.js';
import { REPORT_TEXT, userReportLanguage, type ReportLanguage } from './report-text.js';

const Scores = z.object({ f1: z.number(), em: z.number(), judge: z.number().nullable() }) satisfies z.ZodType<VariantScores>;
/** One value per variant (VARIANTS: base, adapted, base_rag, adapted_rag). */
const perVariant = <T extends z.ZodType>(t: T) => z.object({ base: t, adapted: t, base_rag: t, adapted_rag: t });
const Item = z.object({
  question: z.string(), reference: z.string(), answers: perVariant(z.string()), f1: perVariant(z.number()), em: perVariant(z.number()),
  judge: perVariant(z.number().nullable()), citations: z.array(z.object({ title: z.string(), page: z.number().nullable(), heading: z.array(z.string()) })),
}) satisfies z.ZodType<EvalItem>;

/** The report's data, as the JSON beside the HTML holds it (read back by this schema). */
export const ReportData = z.object({
  n: z.number().int().nonnegative(),
  rag: z.boolean(),
  /** The judging model's name, if one graded the answers. */
  judge: z.string().nullable(),
  model: z.string(),
  adapter: z.string(),
  base: Scores,
  adapted: Scores,
  base_rag: Scores,
  adapted_rag: Scores,
  items: z.array(Item),
  failures: z.array(z.string()),
  /** Absent in reports written before these were recorded. */
  reliability: EvalReliability.optional(),
  examples: EvalExamples.nullable().optional(),
  createdAt: z.string().optional(),
});
export type ReportData = z.infer<typeof ReportData>;

/** eval-<time>.json beside the HTML: the report's data, versioned (those written before versions are version 1). */
const REPORT_DATA = recordFormat('the report\'s data', ReportData.extend({ version: z.literal(1) }), 1);

export interface RenderOptions {
  lang?: ReportLanguage;
  /** Shown inside the app's evaluation panel, which has the score table already. */
  embedded?: boolean;
}

type Metric = 'f1' | 'em' | 'judge';
const OPACITY: Record<Metric, number> = { f1: 1, em: 0.55, judge: 0.3 };
const COLORS: Record<Variant, string> = { base: '#8a94a6', adapted: '#2f6fdf', base_rag: '#b7a16a', adapted_rag: '#2f9e6f' };

/** A moment as the reader's language writes it (the machine's time zone). */
function formatWhen(iso: string, lang: ReportLanguage): string {
  const time = Date.parse(iso);
  return Number.isNaN(time) ? iso : new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' }).format(time);
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

// Colours as variables, dark when the reader's system is; `overflow-wrap: anywhere` so a long URL or an
// unbroken run of characters wraps inside the panel instead of widening it.
const STYLE = `:root{color-scheme:light dark;--bg:#fff;--fg:#1d2330;--muted:#667085;--line:#d5dae3;--head:#f3f5f9;--warn-bg:#fff4e0;--warn-fg:#8a5200}
@media (prefers-color-scheme:dark){:root{--bg:#1a1f27;--fg:#e4e8ee;--muted:#9aa5b4;--line:#2d3541;--head:#1f252e;--warn-bg:#3a2c16;--warn-fg:#f0b35a}}
html{background:var(--bg)}body{font:14px system-ui,-apple-system,'Segoe UI',Roboto,'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif;margin:2rem;max-width:1100px;color:var(--fg);background:var(--bg);overflow-wrap:anywhere}
body.embedded{margin:12px 14px}h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:1.5rem}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid var(--line);padding:.35rem .6rem;text-align:left;vertical-align:top}th{background:var(--head)}
table.wide{width:100%;table-layout:fixed}.num{text-align:right}.muted{color:var(--muted)}
.warning{background:var(--warn-bg);color:var(--warn-fg);padding:.5rem .75rem;border-radius:6px}
svg{display:block;width:100%;max-width:560px;height:auto}svg text{fill:var(--fg);font-size:12px}`;

function chart(d: ReportData, variants: Variant[], lang: ReportLanguage): string {
  const text = REPORT_TEXT[lang];
  const w = 560;
  const rowH = 30;
  const left = 150;
  const span = w - left - 60;
  const metrics: Metric[] = d.judge ? ['f1', 'em', 'judge'] : ['f1', 'em'];
  // A metric with no value (the judge could grade nothing) gets no bar rather than a 0% one.
  const rows = variants.flatMap((v) => metrics.flatMap((m) => { const value = d[v][m]; return value === null ? [] : [{ v, m, value }]; }));
  const bars = rows.flatMap(({ v, m, value }, i) => {
    const y = 10 + i * rowH;
    return [
      `<text x="0" y="${y + 13}">${esc(text.variant[v])} ${esc(text.metric[m])}</text>`,
      `<rect x="${left}" y="${y}" width="${Math.max(1, span * value)}" height="18" fill="${COLORS[v]}" opacity="${OPACITY[m]}"><title>${esc(text.metric[m])} ${pct(value)}</title></rect>`,
      `<text x="${left + span * value + 6}" y="${y + 13}">${pct(value)}</text>`,
    ];
  });
  const h = 20 + rows.length * rowH;
  return `<svg role="img" aria-label="${esc(text.chartLabel)}" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" xmlns="http://www.w3.org/2000/svg">${bars.join('')}</svg>`;
}

/** The report's HTML for these data, in `lang` (default English). */
export function renderEvalReport(d: ReportData, options: RenderOptions = {}): string {
  const lang = options.lang ?? 'en';
  const text = REPORT_TEXT[lang];
  const variants: Variant[] = d.rag ? ['base', 'adapted', 'base_rag', 'adapted_rag'] : ['base', 'adapted'];
  const worst = [...d.items].sort((a, b) => a.f1.adapted - b.f1.adapted).slice(0, 10);
  // Embedded, the panel around the report shows the scores, the warning and the examples note already.
  const warning = options.embedded ? null : text.reliability(d.reliability ?? evalReliability(d.n), d.n);
  const examples = options.embedded || !d.examples ? '' : `<p class="muted" data-testid="report-examples">${esc(text.examples(d.examples, d.n))}</p>\n`;
  const created = d.createdAt ?? new Date().toISOString();
  const when = `<time datetime="${esc(created)}">${esc(formatWhen(created, lang))}</time>`;
  const scores = options.embedded ? '' : `<table><thead><tr><th>${esc(text.colVariant)}</th><th class="num">${esc(text.colF1)}</th><th class="num">${esc(text.colEm)}</th>${d.judge ? `<th class="num">${esc(text.colJudge(d.judge))}</th>` : ''}</tr></thead><tbody>
${variants.map((v) => `<tr><td>${esc(text.variant[v])}</td><td class="num">${pct(d[v].f1)}</td><td class="num">${pct(d[v].em)}</td>${d.judge ? `<td class="num">${d[v].judge === null ? '—' : pct(d[v].judge)}</td>` : ''}</tr>`).join('\n')}
</tbody></table>
`;
  return `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><title>DocTune ${esc(text.title)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="color-scheme" content="light dark">
<style>${STYLE}</style></head>
<body${options.embedded ? ' class="embedded"' : ''}>
<h1>${esc(text.title)}</h1>
<p class="muted">${text.meta(d.n, esc(path.basename(d.model)), esc(path.basename(d.adapter)), when)}</p>
${warning ? `<p class="warning" data-testid="report-reliability">${esc(warning)}</p>\n` : ''}${examples}${scores}${chart(d, variants, lang)}
<h2>${esc(text.worstTitle)}</h2>
<table class="wide"><thead><tr><th>${esc(text.colQuestion)}</th><th>${esc(text.colReference)}</th><th>${esc(text.colBase)}</th><th>${esc(text.colAdapted)}</th><th class="num">${esc(text.colF1Change)}</th></tr></thead><tbody>
${worst.map((x) => `<tr><td>${esc(x.question)}</td><td>${esc(x.reference)}</td><td>${esc(x.answers.base)}</td><td>${esc(x.answers.adapted)}</td><td class="num">${pct(x.f1.base)} → ${pct(x.f1.adapted)}</td></tr>`).join('\n')}
</tbody></table>
${d.failures.length ? `<h2>${esc(text.failuresTitle)}</h2>\n<ul>${d.failures.map((f) => `<li>${esc(f)}</li>`).join('')}</ul>` : ''}
</body></html>
`;
}

/** Writes eval-<time>.html (in `lang`, by default the user's) and eval-<time>.json into `dir`; returns the HTML file. */
export async function writeEvalReport(dir: string, d: ReportData, lang: ReportLanguage = userReportLanguage()): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  const createdAt = d.createdAt ?? new Date().toISOString();
  const data = { ...d, reliability: d.reliability ?? evalReliability(d.n), createdAt };
  const stamp = createdAt.replace(/[:.]/g, '-');
  const file = path.join(dir, `eval-${stamp}.html`);
  await writeFileAtomic(file, renderEvalReport(data, { lang }));
  await REPORT_DATA.write(path.join(dir, `eval-${stamp}.json`), data);
  return file;
}

/**
 * A report of `dir` shown again, from its JSON, in another language or embedded, with its data; the HTML as it
 * was written when there is no JSON beside it (data null then).
 */
export async function readEvalReport(dir: string, fileName: string, options: RenderOptions = {}): Promise<{ html: string; data: ReportData | null }> {
  const file = path.join(dir, path.basename(fileName));
  const jsonFile = file.replace(/\.html$/, '.json');
  try {
    const record = await REPORT_DATA.read(jsonFile);
    if (record) {
      const { version: _v, ...data } = record;
      data.createdAt ??= (await fs.stat(jsonFile)).mtime.toISOString();
      data.reliability ??= evalReliability(data.n);
      return { html: renderEvalReport(data, options), data };
    }
  } catch (err) {
    // A damaged JSON file: the HTML as written still reads.
    log.warn('an evaluation report\'s data cannot be read: showing the report as written', { path: jsonFile, err });
  }
  const html = await fs.readFile(file, 'utf8').catch(() => {
    throw new DocTuneError('NOT_FOUND', 'no such report', { path: file });
  });
  return { html, data: null };
}

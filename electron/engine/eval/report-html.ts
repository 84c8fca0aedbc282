/**
 * The evaluation report: one self-contained HTML file (no scripts, no external assets) with the score
 * table, a bar chart (inline SVG) and the worst-answered questions with the base and adapted answers side
 * by side, and what could not be answered or graded; the same data as JSON beside it.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { EvalItem, Variant, VariantScores } from './run-eval.js';

export interface ReportData {
  n: number;
  rag: boolean;
  /** The judging model's name, if one graded the answers. */
  judge: string | null;
  model: string;
  adapter: string;
  base: VariantScores;
  adapted: VariantScores;
  base_rag: VariantScores;
  adapted_rag: VariantScores;
  items: EvalItem[];
  failures: string[];
}

type Metric = 'f1' | 'em' | 'judge';
const METRIC: Record<Metric, string> = { f1: 'F1', em: 'EM', judge: 'Judge' };
const OPACITY: Record<Metric, number> = { f1: 1, em: 0.55, judge: 0.3 };

const LABELS: Record<Variant, string> = { base: 'Base', adapted: 'Adapted', base_rag: 'Base + RAG', adapted_rag: 'Adapted + RAG' };
const COLORS: Record<Variant, string> = { base: '#8a94a6', adapted: '#2f6fdf', base_rag: '#b7a16a', adapted_rag: '#2f9e6f' };

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

function chart(d: ReportData, variants: Variant[]): string {
  const w = 560;
  const rowH = 30;
  const left = 130;
  const span = w - left - 60;
  const metrics: Metric[] = d.judge ? ['f1', 'em', 'judge'] : ['f1', 'em'];
  // A metric with no value (the judge could grade nothing) gets no bar rather than a 0% one.
  const rows = variants.flatMap((v) => metrics.flatMap((m) => { const value = d[v][m]; return value === null ? [] : [{ v, m, value }]; }));
  const bars = rows.flatMap(({ v, m, value }, i) => {
    const y = 10 + i * rowH;
    return [
      `<text x="0" y="${y + 13}" font-size="12">${LABELS[v]} ${METRIC[m]}</text>`,
      `<rect x="${left}" y="${y}" width="${Math.max(1, span * value)}" height="18" fill="${COLORS[v]}" opacity="${OPACITY[m]}"><title>${METRIC[m]} ${pct(value)}</title></rect>`,
      `<text x="${left + span * value + 6}" y="${y + 13}" font-size="12">${pct(value)}</text>`,
    ];
  });
  return `<svg role="img" aria-label="Scores per variant" width="${w}" height="${20 + rows.length * rowH}" xmlns="http://www.w3.org/2000/svg">${bars.join('')}</svg>`;
}

export async function writeEvalReport(dir: string, d: ReportData): Promise<string> {
  const variants: Variant[] = d.rag ? ['base', 'adapted', 'base_rag', 'adapted_rag'] : ['base', 'adapted'];
  const worst = [...d.items].sort((a, b) => a.f1.adapted - b.f1.adapted).slice(0, 10);
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>DocTune evaluation</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>body{font:14px system-ui,sans-serif;margin:2rem;max-width:1100px;color:#1d2330}table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #d5dae3;padding:.35rem .6rem;text-align:left;vertical-align:top}th{background:#f3f5f9}.num{text-align:right}.muted{color:#667085}</style></head>
<body>
<h1>Evaluation</h1>
<p class="muted">${d.n} held-out question(s) · model ${esc(path.basename(d.model))} · adapter ${esc(path.basename(d.adapter))} · ${new Date().toISOString()}</p>
<table><thead><tr><th>Variant</th><th class="num">Token F1</th><th class="num">Exact match</th>${d.judge ? `<th class="num">Judge (${esc(d.judge)})</th>` : ''}</tr></thead><tbody>
${variants.map((v) => `<tr><td>${LABELS[v]}</td><td class="num">${pct(d[v].f1)}</td><td class="num">${pct(d[v].em)}</td>${d.judge ? `<td class="num">${d[v].judge === null ? '—' : pct(d[v].judge)}</td>` : ''}</tr>`).join('\n')}
</tbody></table>
${chart(d, variants)}
<h2>Worst-answered questions (adapted)</h2>
<table><thead><tr><th>Question</th><th>Reference</th><th>Base</th><th>Adapted</th><th class="num">F1 base → adapted</th></tr></thead><tbody>
${worst.map((x) => `<tr><td>${esc(x.question)}</td><td>${esc(x.reference)}</td><td>${esc(x.answers.base)}</td><td>${esc(x.answers.adapted)}</td><td class="num">${pct(x.f1.base)} → ${pct(x.f1.adapted)}</td></tr>`).join('\n')}
</tbody></table>
${d.failures.length ? `<h2>Not answered or not graded</h2>\n<ul>${d.failures.map((f) => `<li>${esc(f)}</li>`).join('')}</ul>` : ''}
</body></html>
`;
  await fs.mkdir(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = path.join(dir, `eval-${stamp}.html`);
  await fs.writeFile(file, html);
  await fs.writeFile(path.join(dir, `eval-${stamp}.json`), JSON.stringify(d, null, 2));
  return file;
}

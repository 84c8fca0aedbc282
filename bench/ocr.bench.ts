/**
 * OCR throughput and accuracy: DocTune's OCR (tesseract.js, the bundled tessdata_best int8 models) against
 * Debian's `tesseract` command (5.x with Debian's language packages, as its users run it), on the same page
 * images, one thread each (OMP_THREAD_LIMIT=1 for the command). Pages: corpus PDF pages rendered at 300 dpi
 * by poppler (English, against their text layer) and pages of a Chinese statute typeset with Noto Serif CJK.
 * Goal: ≥ 0.5× the command's pages per second. Character error rates of both are printed beside.
 * Needs: poppler-utils, tesseract-ocr, tesseract-ocr-chi-sim, fonts-noto-cjk.
 * Usage: npm run bench:ocr [-- --runs 3]
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GlobalFonts } from '@napi-rs/canvas';
import { characterErrorRate } from '../electron/engine/ingest/ocr/character-error-rate.js';
import { OcrEngine, tidyOcrText, type OcrLanguage } from '../electron/engine/ingest/ocr/ocr-engine.js';
import { corpusFile } from '../electron/engine/testing/corpus.js';
import { typesetPng } from '../electron/engine/testing/typeset.js';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'doctune-bench-ocr-'));

interface Page { image: string; reference: string; language: OcrLanguage }
const pages: Page[] = [];
for (const [pdf, n] of [['osha_factsheet_lockout_tagout.pdf', 1], ['osha_factsheet_lockout_tagout.pdf', 2], ['ready_gov_be_prepared_for_a_tornado.pdf', 1], ['osha3071_job_hazard_analysis.pdf', 5]] as const) {
  const prefix = path.join(dir, `${path.basename(pdf, '.pdf')}-${n}`);
  execFileSync('pdftoppm', ['-r', '300', '-png', '-gray', '-f', String(n), '-l', String(n), '-singlefile', corpusFile(pdf), prefix]);
  pages.push({ image: `${prefix}.png`, reference: execFileSync('pdftotext', ['-f', String(n), '-l', String(n), corpusFile(pdf), '-'], { encoding: 'utf8' }), language: 'en' });
}
GlobalFonts.registerFromPath('/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc', 'BenchCJK');
const statute = fs.readFileSync(corpusFile('突发事件应对法(2024-06-28).md'), 'utf8').split('\n').filter((l) => /^第.+条/.test(l)).join('');
for (let k = 0; k < 2; k++) {
  const text = statute.slice(k * 1400, (k + 1) * 1400);
  const lines = Array.from({ length: Math.ceil(text.length / 40) }, (_, i) => text.slice(i * 40, (i + 1) * 40));
  const image = path.join(dir, `statute-${k + 1}.png`);
  fs.writeFileSync(image, typesetPng(lines, { font: 'BenchCJK', size: 50, lineHeight: 80 }));
  pages.push({ image, reference: lines.join(''), language: 'zh' });
}

const CODE: Record<OcrLanguage, string> = { en: 'eng', zh: 'chi_sim' };
const textOf = (paragraphs: string[], language: OcrLanguage): string => paragraphs.join(language === 'zh' ? '' : '\n');

async function doctune(): Promise<{ seconds: number; texts: string[] }> {
  const engines = { en: new OcrEngine('en'), zh: new OcrEngine('zh') };
  // Engines start once per app run: warm them first, as a second import would find them.
  for (const e of Object.values(engines)) await e.recognize(fs.readFileSync(pages[0]!.image)).catch(() => undefined);
  const t0 = performance.now();
  const texts: string[] = [];
  for (const p of pages) texts.push(textOf((await engines[p.language].recognize(fs.readFileSync(p.image))).paragraphs, p.language));
  const seconds = (performance.now() - t0) / 1000;
  for (const e of Object.values(engines)) await e.close();
  return { seconds, texts };
}

function command(): { seconds: number; texts: string[] } {
  const t0 = performance.now();
  const texts = pages.map((p) => {
    const raw = execFileSync('tesseract', [p.image, '-', '-l', CODE[p.language], '--psm', '3'], { encoding: 'utf8', env: { ...process.env, OMP_THREAD_LIMIT: '1' }, stdio: ['ignore', 'pipe', 'ignore'] });
    return textOf(tidyOcrText(raw), p.language);
  });
  return { seconds: (performance.now() - t0) / 1000, texts };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ours: number[] = [];
const theirs: number[] = [];
let last: { ours: string[]; theirs: string[] } = { ours: [], theirs: [] };
for (let i = 0; i < runs; i++) {
  const c = command();
  const d = await doctune();
  theirs.push(c.seconds);
  ours.push(d.seconds);
  last = { ours: d.texts, theirs: c.texts };
}
const cer = (texts: string[], language: OcrLanguage): number => {
  const idx = pages.map((p, i) => (p.language === language ? i : -1)).filter((i) => i >= 0);
  return idx.reduce((sum, i) => sum + characterErrorRate(pages[i]!.reference, language === 'zh' ? texts[i]!.replace(/\s+/g, '') : texts[i]!), 0) / idx.length;
};
const oursRate = pages.length / median(ours);
const theirsRate = pages.length / median(theirs);
const version = execFileSync('tesseract', ['--version'], { encoding: 'utf8' }).split('\n')[0];
const result = {
  pages: pages.length,
  runs,
  doctune: { pagesPerSecond: +oursRate.toFixed(3), cerEnglish: +cer(last.ours, 'en').toFixed(4), cerChinese: +cer(last.ours, 'zh').toFixed(4) },
  tesseract: { version, pagesPerSecond: +theirsRate.toFixed(3), cerEnglish: +cer(last.theirs, 'en').toFixed(4), cerChinese: +cer(last.theirs, 'zh').toFixed(4) },
  ratio: +(oursRate / theirsRate).toFixed(3),
  goal: 0.5,
  machine: `${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} cores, 1 thread each`,
};
console.log(JSON.stringify(result, null, 2));
console.log(`DocTune OCR ${oursRate.toFixed(2)} pages/s vs tesseract ${theirsRate.toFixed(2)} pages/s: ${result.ratio}× (goal ≥ ${result.goal}×)`);
fs.mkdirSync(path.join(import.meta.dirname, 'results'), { recursive: true });
fs.writeFileSync(path.join(import.meta.dirname, 'results', 'ocr.json'), `${JSON.stringify(result, null, 2)}\n`);
fs.rmSync(dir, { recursive: true, force: true });

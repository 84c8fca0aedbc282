/**
 * Ingest throughput: pages per second for DocTune's parse + chunk + index of the corpus PDFs, against
 * poppler's pdftotext over the same PDFs (text extraction only), in the same run. Goal: ≥ 0.5× pdftotext.
 * Usage: npm run bench:ingest [-- --runs 3]
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../electron/engine/api/engine.js';
import { CORPUS } from '../electron/engine/testing/corpus.js';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 3;
const pdfs = fs.readdirSync(CORPUS).filter((f) => f.endsWith('.pdf')).map((f) => path.join(CORPUS, f));
const allDocs = fs.readdirSync(CORPUS).filter((f) => !/^readme/i.test(f)).map((f) => path.join(CORPUS, f));

function pdfPages(file: string): number {
  const info = execFileSync('pdfinfo', [file]).toString();
  return Number(/Pages:\s+(\d+)/.exec(info)?.[1] ?? 0);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timeDocTune(files: string[]): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'doctune-bench-'));
  const engine = new Engine({ workspaceDir: dir });
  await engine.ws();
  // Warm the parsing thread (module loading is a one-off cost, not throughput).
  await engine.ingest([path.join(CORPUS, 'osha_factsheet_lockout_tagout.pdf'), path.join(CORPUS, 'ready_gov_be_prepared_for_a_tornado.pdf')]);
  await engine.invoke('docs.list', {}).then((docs) => Promise.all(docs.map((d) => engine.invoke('docs.remove', { documentId: d.id }))));
  const t0 = performance.now();
  const summary = await engine.ingest(files);
  const ms = performance.now() - t0;
  if (summary.errors.length) throw new Error(`ingest errors: ${JSON.stringify(summary.errors)}`);
  await engine.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return ms;
}

function timePdftotext(files: string[]): number {
  const t0 = performance.now();
  for (const f of files) execFileSync('pdftotext', [f, '-'], { maxBuffer: 64 * 1024 * 1024 });
  return performance.now() - t0;
}

const pages = pdfs.reduce((n, f) => n + pdfPages(f), 0);
const doctuneMs: number[] = [];
const popplerMs: number[] = [];
const corpusMs: number[] = [];
for (let i = 0; i < runs; i++) {
  popplerMs.push(timePdftotext(pdfs));
  doctuneMs.push(await timeDocTune(pdfs));
  corpusMs.push(await timeDocTune(allDocs));
}
const doctunePps = pages / (median(doctuneMs) / 1000);
const popplerPps = pages / (median(popplerMs) / 1000);
const result = {
  pdfs: pdfs.length,
  pages,
  runs,
  doctune: { medianMs: Math.round(median(doctuneMs)), pagesPerSecond: Math.round(doctunePps * 10) / 10, what: 'parse + chunk + index (LanceDB, FTS)' },
  pdftotext: { medianMs: Math.round(median(popplerMs)), pagesPerSecond: Math.round(popplerPps * 10) / 10, what: 'text extraction only' },
  ratio: Math.round((doctunePps / popplerPps) * 100) / 100,
  wholeCorpus: { documents: allDocs.length, medianMs: Math.round(median(corpusMs)) },
  machine: `${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, node ${process.version}`,
};
fs.mkdirSync(path.join(import.meta.dirname, 'output'), { recursive: true });
fs.writeFileSync(path.join(import.meta.dirname, 'output', 'ingest.json'), JSON.stringify(result, null, 2));
console.log(`ingest benchmark: ${pdfs.length} PDFs, ${pages} pages, median of ${runs} runs`);
console.log(`  DocTune   (parse + chunk + index): ${result.doctune.pagesPerSecond} pages/s (${result.doctune.medianMs} ms)`);
console.log(`  pdftotext (extract text only):     ${result.pdftotext.pagesPerSecond} pages/s (${result.pdftotext.medianMs} ms)`);
console.log(`  ratio DocTune / pdftotext: ${result.ratio}× (goal ≥ 0.5×)`);
console.log(`  whole corpus (${allDocs.length} documents incl. DOCX and Markdown): ${result.wholeCorpus.medianMs} ms`);

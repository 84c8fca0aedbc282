/**
 * Ingest throughput: pages per second for DocTune's parse + chunk + index of the corpus PDFs, against
 * poppler's pdftotext over the same PDFs (text extraction only), in the same run. Goal: ≥ 0.5× pdftotext.
 *
 * DocTune's parsing threads live as long as the app (or `doctune ui`); the first import after start pays
 * for loading pdf.js and warming its JIT. The steady-state figure (the goal) imports into a fresh workspace
 * with warm threads; the cold figure is reported beside it.
 * Then, at scale (each 0 to skip):
 * - 1,000 real PDFs (`--many-pdfs N`): the corpus PDFs copied under different names, each copy made distinct
 *   by a comment after its end so none is skipped as a duplicate; DocTune reading the text layer (OCR off,
 *   the work pdftotext does) against pdftotext over the same files, goal ≥ 0.5× its pages/s; then DocTune
 *   as imported by default, with the pages that lack a text layer read by OCR.
 * - a folder of 20,000 small files (`--small-files N`): goal ≤ 2 minutes.
 * - one 200 MB text file (`--big-text MB`): real text (the corpus's English manuals and Chinese statutes,
 *   repeated as numbered parts), imported in a process of its own. Goal: peak RSS ≤ 1 GB.
 * Usage: npm run bench:ingest [-- --runs 5] [--many-pdfs 1000] [--small-files 20000] [--big-text 200]
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ingestPaths } from '../electron/engine/ingest/ingest-files.js';
import { DocumentParser } from '../electron/engine/ingest/parse-pool.js';
import { Workspace } from '../electron/engine/store/workspace.js';
import { CORPUS } from '../electron/engine/testing/corpus.js';
import type { OcrSetting } from '../electron/shared/contract.js';

const execFileAsync = promisify(execFile);

function numberArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const runs = numberArg('--runs', 5);
const pdfs = fs.readdirSync(CORPUS).filter((f) => f.endsWith('.pdf')).map((f) => path.join(CORPUS, f));

function pdfPages(file: string): number {
  const info = execFileSync('pdfinfo', [file]).toString();
  return Number(/Pages:\s+(\d+)/.exec(info)?.[1] ?? 0);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timeDocTune(parser: DocumentParser, files: string[], ocr: OcrSetting = 'auto'): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'doctune-bench-'));
  const ws = await Workspace.open(dir);
  await ws.updateSettings({ ocr });
  const t0 = performance.now();
  const summary = await ingestPaths(ws, files, { parser });
  const ms = performance.now() - t0;
  if (summary.errors.length || summary.documents !== files.length) throw new Error(`ingest failed: ${JSON.stringify(summary)}`);
  ws.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return ms;
}

/**
 * pdftotext over the files as a user runs it on a batch (`xargs -P N`): as many processes at a time as DocTune
 * has parsing threads, so that both sides use the same cores.
 */
async function timePdftotext(files: string[], workers: number): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) await execFileAsync('pdftotext', [files[next++]!, '-'], { maxBuffer: 64 * 1024 * 1024 });
  };
  await Promise.all(Array.from({ length: workers }, worker));
  return performance.now() - t0;
}

fs.mkdirSync(path.join(import.meta.dirname, 'output'), { recursive: true });
// `--runs 0` skips the corpus figure (to measure one of the scale parts alone).
if (runs > 0) {
  const pages = pdfs.reduce((n, f) => n + pdfPages(f), 0);
  const parser = new DocumentParser();
  const coldMs = await timeDocTune(parser, pdfs);
  const doctuneMs: number[] = [];
  const popplerMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    popplerMs.push(await timePdftotext(pdfs, parser.threads));
    doctuneMs.push(await timeDocTune(parser, pdfs));
  }
  await parser.close();

  const pps = (ms: number): number => Math.round((pages / (ms / 1000)) * 10) / 10;
  const result = {
    pdfs: pdfs.length,
    pages,
    runs,
    parserThreads: parser.threads,
    doctune: { medianMs: Math.round(median(doctuneMs)), pagesPerSecond: pps(median(doctuneMs)), what: 'parse + chunk + index (LanceDB + full-text index)' },
    doctuneCold: { ms: Math.round(coldMs), pagesPerSecond: pps(coldMs), what: 'first import after start (loads pdf.js)' },
    pdftotext: { medianMs: Math.round(median(popplerMs)), pagesPerSecond: pps(median(popplerMs)), what: `text extraction only, one process per file, ${parser.threads} at a time (DocTune's parsing threads)` },
    ratio: Math.round((median(popplerMs) / median(doctuneMs)) * 100) / 100,
    machine: `${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, node ${process.version}`,
  };
  fs.mkdirSync(path.join(import.meta.dirname, 'output'), { recursive: true });
  fs.writeFileSync(path.join(import.meta.dirname, 'output', 'ingest.json'), JSON.stringify(result, null, 2));
  console.log(`ingest benchmark: ${pdfs.length} PDFs, ${pages} pages, median of ${runs} runs, ${parser.threads} parsing thread(s)`);
  console.log(`  DocTune   parse + chunk + index: ${result.doctune.pagesPerSecond} pages/s (${result.doctune.medianMs} ms)`);
  console.log(`  pdftotext extract text only:     ${result.pdftotext.pagesPerSecond} pages/s (${result.pdftotext.medianMs} ms)`);
  console.log(`  ratio DocTune / pdftotext: ${result.ratio}× (goal ≥ 0.5×)`);
  console.log(`  DocTune cold (first import after start): ${result.doctuneCold.pagesPerSecond} pages/s (${result.doctuneCold.ms} ms)`);
}

// Scale: a folder of many small files (notes, forms, exported records) into a fresh workspace, with the
// table versions and the time to list the documents afterwards. Goal: 20,000 files in ≤ 2 minutes.
const manyPdfs = numberArg('--many-pdfs', 1000);
if (manyPdfs > 0) {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'doctune-bench-pdfs-'));
  const files: string[] = [];
  let manyPages = 0;
  for (let i = 0; i < manyPdfs; i++) {
    const source = pdfs[i % pdfs.length]!;
    const copy = path.join(folder, `copy-${String(i).padStart(4, '0')}-${path.basename(source)}`);
    // Bytes after %%EOF are ignored by PDF readers; the comment makes each copy's hash (and so its document) its own.
    fs.writeFileSync(copy, Buffer.concat([fs.readFileSync(source), Buffer.from(`\n% copy ${i}\n`)]));
    files.push(copy);
    manyPages += pdfPages(source);
  }
  const manyParser = new DocumentParser();
  await manyParser.warmUp();
  const popplerMany = await timePdftotext(files, manyParser.threads);
  // Text layer only, the work pdftotext does (the goal); then as imported by default, where pages without a
  // usable text layer (4 of the corpus's 134: covers and figures) are read by OCR too.
  const doctuneMany = await timeDocTune(manyParser, files, 'off');
  const doctuneManyOcr = await timeDocTune(manyParser, files, 'auto');
  await manyParser.close();
  fs.rmSync(folder, { recursive: true, force: true });
  const ppsMany = (ms: number): number => Math.round((manyPages / (ms / 1000)) * 10) / 10;
  const many = {
    pdfs: manyPdfs, pages: manyPages, parserThreads: manyParser.threads,
    doctune: { seconds: Math.round(doctuneMany / 100) / 10, pagesPerSecond: ppsMany(doctuneMany), what: 'text layer only (OCR off), as pdftotext' },
    doctuneWithOcr: { seconds: Math.round(doctuneManyOcr / 100) / 10, pagesPerSecond: ppsMany(doctuneManyOcr), what: 'the default: pages without a usable text layer read by OCR' },
    pdftotext: { seconds: Math.round(popplerMany / 100) / 10, pagesPerSecond: ppsMany(popplerMany), processesAtATime: manyParser.threads },
    ratio: Math.round((popplerMany / doctuneMany) * 100) / 100,
    goalRatio: 0.5,
  };
  fs.writeFileSync(path.join(import.meta.dirname, 'output', 'ingest-many-pdfs.json'), JSON.stringify(many, null, 2));
  console.log(`  ${manyPdfs} PDFs (${manyPages} pages): DocTune ${many.doctune.pagesPerSecond} pages/s (text layer), pdftotext ${many.pdftotext.pagesPerSecond} pages/s, ratio ${many.ratio}× (goal ≥ 0.5×); with OCR of the pages that lack text ${many.doctuneWithOcr.pagesPerSecond} pages/s`);
}

const smallFiles = numberArg('--small-files', 20_000);
if (smallFiles > 0) {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'doctune-bench-small-'));
  for (let i = 0; i < smallFiles; i++) {
    const sub = path.join(folder, `batch-${Math.floor(i / 1000)}`);
    if (i % 1000 === 0) fs.mkdirSync(sub);
    fs.writeFileSync(path.join(sub, `record-${i}.txt`), `Inspection record ${i}\n\nExtinguisher ${i} on floor ${i % 12} was checked; pressure in the green band, seal intact, tag signed.\n`);
  }
  const wsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'doctune-bench-small-ws-'));
  const ws = await Workspace.open(wsDir);
  const smallParser = new DocumentParser();
  const t0 = performance.now();
  const summary = await ingestPaths(ws, [folder], { parser: smallParser });
  const seconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const listed = (await ws.listDocuments()).length;
  if (listed !== smallFiles) throw new Error(`listed ${listed} of ${smallFiles} documents`);
  const listMs = performance.now() - t1;
  const versions = fs.readdirSync(path.join(wsDir, 'documents.lance', '_versions')).length;
  await smallParser.close();
  ws.close();
  fs.rmSync(folder, { recursive: true, force: true });
  fs.rmSync(wsDir, { recursive: true, force: true });
  const scale = { files: smallFiles, imported: summary.documents, errors: summary.errors.length, seconds: Math.round(seconds * 10) / 10, filesPerSecond: Math.round(smallFiles / seconds), listDocumentsMs: Math.round(listMs), documentTableVersionsLeft: versions, goalSeconds: 120 };
  fs.writeFileSync(path.join(import.meta.dirname, 'output', 'ingest-small-files.json'), JSON.stringify(scale, null, 2));
  console.log(`  ${smallFiles} small text files: ${scale.seconds} s (${scale.filesPerSecond} files/s; goal ≤ 120 s), listing them ${scale.listDocumentsMs} ms, ${versions} document-table versions left`);
}

const bigMb = numberArg('--big-text', 200);
if (bigMb > 0) {
  // Real text to the size asked: the corpus's English manuals (pdftotext) and the Chinese statutes, as
  // numbered parts of one long compilation.
  const english = pdfs.map((f) => execFileSync('pdftotext', ['-layout', f, '-'], { maxBuffer: 64 * 1024 * 1024 }).toString());
  const chinese = fs.readdirSync(CORPUS).filter((f) => f.endsWith('.md')).map((f) => fs.readFileSync(path.join(CORPUS, f), 'utf8'));
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'doctune-bench-big-')), 'compilation.txt');
  const fd = fs.openSync(file, 'w');
  let written = 0;
  for (let part = 1; written < bigMb * 1_000_000; part++) {
    for (const text of [...english, ...chinese]) {
      const piece = Buffer.from(`Part ${part}\n\n${text}\n\n`);
      fs.writeSync(fd, piece);
      written += piece.length;
    }
  }
  fs.closeSync(fd);
  const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'ingest-big-text.ts'), file], { maxBuffer: 16 * 1024 * 1024 }).toString();
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
  const big = { ...JSON.parse(out.trim().split('\n').at(-1)!), goalPeakRssMb: 1024 };
  fs.writeFileSync(path.join(import.meta.dirname, 'output', 'ingest-big-text.json'), JSON.stringify(big, null, 2));
  console.log(`  one ${Math.round(big.bytes / 1e6)} MB text file: ${big.chunks} passages stored in ${big.storedSeconds} s, indexed and compacted by ${big.seconds} s, peak RSS ${big.peakRssMb} MB (goal ≤ 1024 MB)`);
}

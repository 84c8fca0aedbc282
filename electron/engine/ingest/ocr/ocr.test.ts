/**
 * OCR on scans made from the real corpus: pages of the shared PDFs rendered to JPEG by poppler and wrapped
 * in image-only PDFs, and a page of a Chinese statute typeset with a CJK font, read back and compared with
 * the text they were made from (character error rate).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createCanvas, GlobalFonts } from '@napi-rs/canvas';
import UTIF from 'utif2';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../../api/engine.js';
import { DocTuneError } from '../../errors.js';
import { corpusFile, tempDir } from '../../testing/corpus.js';
import { doctune } from '../../testing/cli.js';
import { scannedPdf } from '../../testing/scanned-pdf.js';
import { typesetPng } from '../../testing/typeset.js';
import { parseDocument } from '../parse-document.js';
import { characterErrorRate } from './character-error-rate.js';
import { OcrEngine, tidyOcrText } from './ocr-engine.js';

const dir = tempDir('ocr');
const FACT_SHEET = corpusFile('osha_factsheet_lockout_tagout.pdf');
const STATUTE = corpusFile('治安管理处罚法(2012-10-26).md');
const CJK_FONT = '/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc';

/** Page `n` of a PDF as a scanner would give it: a 200 dpi JPEG (poppler renders it). */
function scanOf(pdf: string, n: number): Buffer {
  const prefix = path.join(dir, `scan-${path.basename(pdf, '.pdf')}-${n}`);
  execFileSync('pdftoppm', ['-r', '200', '-jpeg', '-f', String(n), '-l', String(n), '-singlefile', pdf, prefix]);
  return fs.readFileSync(`${prefix}.jpg`);
}

const textLayer = (pdf: string, n: number): string => execFileSync('pdftotext', ['-f', String(n), '-l', String(n), pdf, '-'], { encoding: 'utf8' });

const typeset = (lines: string[], font: string, size = 50): Buffer => typesetPng(lines, { font, size });

/** A baseline TIFF (uncompressed 8-bit grayscale, one strip per page), pages chained as scanners write them. */
function grayTiff(pages: { width: number; height: number; gray: Uint8Array }[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0x49, 0x49, 0x2a, 0x00, 0, 0, 0, 0])];
  let offset = 8;
  let linkAt = 4; // where the previous "next IFD" offset is written
  const out: { at: number; value: number }[] = [];
  for (const p of pages) {
    const pixels = offset;
    parts.push(Buffer.from(p.gray));
    offset += p.gray.length + (p.gray.length % 2); // IFDs start on a word boundary
    if (p.gray.length % 2) parts.push(Buffer.alloc(1));
    const entries: [number, number, number][] = [[256, 4, p.width], [257, 4, p.height], [258, 3, 8], [259, 3, 1], [262, 3, 1], [273, 4, pixels], [277, 3, 1], [278, 4, p.height], [279, 4, p.gray.length]];
    const ifd = Buffer.alloc(2 + entries.length * 12 + 4);
    ifd.writeUInt16LE(entries.length, 0);
    entries.forEach(([tag, type, value], i) => {
      ifd.writeUInt16LE(tag, 2 + i * 12);
      ifd.writeUInt16LE(type, 4 + i * 12);
      ifd.writeUInt32LE(1, 6 + i * 12);
      if (type === 3) ifd.writeUInt16LE(value, 10 + i * 12);
      else ifd.writeUInt32LE(value, 10 + i * 12);
    });
    out.push({ at: linkAt, value: offset });
    linkAt = offset + 2 + entries.length * 12;
    parts.push(ifd);
    offset += ifd.length;
  }
  const file = Buffer.concat(parts);
  for (const { at, value } of out) file.writeUInt32LE(value, at);
  return file;
}

const paragraphText = (blocks: { kind: string; text?: string }[]): string => blocks.map((b) => b.text ?? '').join('\n');

describe('OCR', () => {
  const engines: OcrEngine[] = [];
  const engine = (setting: ConstructorParameters<typeof OcrEngine>[0]): OcrEngine => {
    const e = new OcrEngine(setting);
    engines.push(e);
    return e;
  };
  afterAll(async () => {
    for (const e of engines) await e.close();
  });

  it('tidies what Tesseract writes: Chinese without spaces, lines joined, split words mended, specks dropped', () => {
    expect(tidyOcrText('第 三 条 治安 管理 处 罚 的 程序 ，\n适 用 本 法 的 规定 。\n\nThe hazard-\nous energy is\ncontrolled.\n\nTy\n\nEM a')).toEqual([
      '第三条治安管理处罚的程序，适用本法的规定。',
      'The hazardous energy is controlled.',
    ]);
    expect(tidyOcrText('Part 1910.147 of the CFR, in the U.S. (OSHA)')).toEqual(['Part 1910.147 of the CFR, in the U.S. (OSHA)']);
    // Bullets Tesseract reads as letters become list items, one paragraph each.
    expect(tidyOcrText('Employers must:\nm Develop energy control\nprocedures.\n= Inspect them yearly.')).toEqual([
      'Employers must:', '• Develop energy control procedures.', '• Inspect them yearly.',
    ]);
  });

  it('reads a scanned English page (two columns) within 3% of its text layer, detecting the language', async () => {
    const pdf = scannedPdf([{ jpeg: scanOf(FACT_SHEET, 1) }]);
    const pages: number[] = [];
    const doc = await parseDocument(path.join(dir, 'fact-sheet-scan.pdf'), pdf, { engine: engine('auto'), onPage: (done) => pages.push(done) });
    expect(doc.ocrPages).toBe(1);
    expect(pages).toEqual([1]);
    expect(doc.blocks.every((b) => b.kind === 'paragraph' && b.ocr && b.page === 1)).toBe(true);
    const cer = characterErrorRate(textLayer(FACT_SHEET, 1), paragraphText(doc.blocks));
    console.log(`OCR English (OSHA fact sheet p. 1, 200 dpi scan): CER ${(cer * 100).toFixed(2)}%`);
    expect(cer).toBeLessThan(0.03);
  });

  it('reads a typeset page of a Chinese statute within 8%, detecting the language', async () => {
    GlobalFonts.registerFromPath(CJK_FONT, 'DocTuneTestCJK');
    const articles = fs.readFileSync(STATUTE, 'utf8').split('\n').filter((l) => /^第.+条/.test(l)).slice(2, 14).join('');
    const perLine = 40;
    const lines = Array.from({ length: Math.ceil(articles.length / perLine) }, (_, i) => articles.slice(i * perLine, (i + 1) * perLine)).slice(0, 36);
    const png = typeset(lines, 'DocTuneTestCJK');
    const doc = await parseDocument(path.join(dir, 'statute.png'), png, { engine: engine('auto') });
    expect(doc.format).toBe('image');
    expect(doc.pages).toBe(1);
    const cer = characterErrorRate(lines.join(''), paragraphText(doc.blocks).replace(/\s+/g, ''));
    console.log(`OCR Chinese (治安管理处罚法, Noto Serif CJK at 12 pt, 300 dpi): CER ${(cer * 100).toFixed(2)}%`);
    expect(cer).toBeLessThan(0.08);
  });

  it('reads every page of a multi-page TIFF, each with its page number', async () => {
    const pages = ['Evacuation routes are posted at every exit.', 'Fire extinguishers are inspected every month.'].map((line) => {
      const canvas = createCanvas(1600, 300);
      const ctx = canvas.getContext('2d');
      ctx.fillStyle = 'white';
      ctx.fillRect(0, 0, 1600, 300);
      ctx.fillStyle = 'black';
      ctx.font = '56px sans-serif';
      ctx.fillText(line, 60, 160);
      const rgba = ctx.getImageData(0, 0, 1600, 300).data;
      const gray = new Uint8Array(1600 * 300);
      for (let i = 0; i < gray.length; i++) gray[i] = rgba[i * 4]!;
      return { width: 1600, height: 300, gray };
    });
    const doc = await parseDocument(path.join(dir, 'two-pages.tiff'), grayTiff(pages), { engine: engine('en') });
    expect(doc.pages).toBe(2);
    expect(doc.blocks.map((b) => [b.page, b.kind === 'paragraph' && b.ocr])).toEqual([[1, true], [2, true]]);
    expect(paragraphText(doc.blocks)).toMatch(/Evacuation routes are posted at every exit\.\nFire extinguishers are inspected every month\./);
    // UTIF's own encoder (one RGBA page) is read too.
    const rgba = new Uint8Array(1600 * 300 * 4).fill(255);
    const single = Buffer.from(UTIF.encodeImage(rgba, 1600, 300));
    await expect(parseDocument(path.join(dir, 'blank.tif'), single, { engine: engine('en') })).rejects.toThrow(/no text found in the image/);
  });

  it('refuses broken and hostile images with the reason, before decoding them', async () => {
    const e = engine('en');
    const fail = async (name: string, bytes: Buffer): Promise<DocTuneError> => {
      const err = await parseDocument(path.join(dir, name), bytes, { engine: e }).catch((x: unknown) => x);
      expect(err).toBeInstanceOf(DocTuneError);
      return err as DocTuneError;
    };
    const png = typeset(['A page'], 'sans-serif');
    expect((await fail('cut.png', png.subarray(0, 200))).message).toMatch(/truncated PNG image/);
    // A header claiming 50,000 × 50,000 pixels (2.5 gigapixels) in a 100-byte file: refused unread.
    const bomb = Buffer.concat([png.subarray(0, 100), png.subarray(png.length - 12)]);
    bomb.writeUInt32BE(50_000, 16);
    bomb.writeUInt32BE(50_000, 20);
    const big = await fail('bomb.png', bomb);
    expect(big.code).toBe('TOO_LARGE');
    expect(big.message).toMatch(/50000×50000 pixels is too large/);
    expect((await fail('renamed.jpg', Buffer.from('%PDF-1.4 not an image'))).message).toMatch(/not an image: the content is a PDF/);
    expect((await fail('blank.png', typeset([], 'sans-serif'))).message).toMatch(/no text found in the image, even by OCR/);
    const off = await parseDocument(path.join(dir, 'scan.pdf'), scannedPdf([{ jpeg: scanOf(FACT_SHEET, 2) }])).catch((x: unknown) => x);
    expect((off as DocTuneError).code).toBe('NO_TEXT_LAYER');
    expect((off as DocTuneError).message).toMatch(/OCR is switched off/);
  });

  it('imports a PDF with a scanned page among digital ones: page numbers kept, OCR passages marked, progress per page, Cancel', async () => {
    const ws = path.join(dir, 'ws');
    const mixed = path.join(dir, 'mixed.pdf');
    fs.writeFileSync(mixed, scannedPdf([
      { text: ['Emergency Action Plan', 'Every employee must know two ways out of the building and where to meet outside.'] },
      { jpeg: scanOf(FACT_SHEET, 2) },
      { text: ['Contacts', 'The safety officer keeps the list of emergency contacts up to date every quarter.'] },
    ]));
    const engineApi = new Engine({ workspaceDir: ws });
    try {
      const progress: { ocr?: { done: number; total: number } }[] = [];
      engineApi.on('ingest.progress', (p) => progress.push(p));
      const summary = await engineApi.ingest([mixed]);
      expect(summary).toMatchObject({ documents: 1, errors: [] });
      expect(progress.filter((p) => p.ocr).map((p) => p.ocr)).toEqual([{ done: 1, total: 1 }]);
      const [doc] = await engineApi.invoke('docs.list', {});
      const chunks = await engineApi.invoke('docs.chunks', { documentId: doc!.id });
      expect(new Set(chunks.filter((c) => c.ocr).map((c) => c.page))).toEqual(new Set([2]));
      expect(new Set(chunks.filter((c) => !c.ocr).map((c) => c.page))).toEqual(new Set([1, 3]));
      expect(chunks.filter((c) => c.ocr).map((c) => c.text).join(' ')).toMatch(/lockout|tagout/i);

      // Cancel while a page is being read: the import stops at once and nothing of that file is stored.
      const slow = path.join(dir, 'slow-scan.pdf');
      fs.writeFileSync(slow, scannedPdf([1, 2, 1, 2].map((n) => ({ jpeg: scanOf(FACT_SHEET, n) }))));
      const controller = new AbortController();
      const cancelled = engineApi.ingest([slow], { signal: controller.signal });
      const off = engineApi.on('ingest.progress', (p) => { if (p.ocr) controller.abort(); });
      const started = Date.now();
      await expect(cancelled).rejects.toMatchObject({ code: 'CANCELLED' });
      off();
      expect(Date.now() - started).toBeLessThan(60_000);
      expect((await engineApi.invoke('docs.list', {})).map((d) => path.basename(d.path))).toEqual(['mixed.pdf']);
    } finally {
      await engineApi.close();
    }
    // The CLI shows the mark where it lists a document's passages.
    const show = doctune('docs', 'show', 'mixed', '--workspace', ws);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/p\. 2 — .*OCR\n/);
  });
});

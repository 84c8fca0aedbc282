import { PDFParse } from 'pdf-parse';
import { DocTuneError } from '../errors.js';
import { linesToBlocks, type Line } from './line-structure.js';
import { bodySize, itemsToLines, looksLikeCode, mojibakeFonts, titleFromFirstPage, toPdfItem, type PdfItem } from './pdf-layout.js';
import type { ParsedDocument } from './types.js';

interface PdfDocument {
  numPages: number;
  getPage(n: number): Promise<{ view: number[]; getTextContent(): Promise<{ items: unknown[] }>; cleanup(): void }>;
}

export async function parsePdf(buf: Buffer, file: string, fallbackTitle: string): Promise<ParsedDocument> {
  // pdf.js quietly rebuilds a cut-off file's cross-reference table and returns part of the text; a missing
  // end-of-file marker tells us the download or copy was incomplete, which the user must hear about.
  const tail = buf.subarray(Math.max(0, buf.length - 2048)).toString('latin1');
  if (!tail.includes('%%EOF')) {
    throw new DocTuneError('PARSE_FAILED', 'truncated PDF (no %%EOF end marker; incomplete download or copy?)', { path: file });
  }
  const parser = new PDFParse({ data: new Uint8Array(buf), verbosity: 0, isEvalSupported: false });
  try {
    const pages: PdfItem[][] = [];
    const heights: number[] = [];
    let total: number;
    try {
      // load() is pdf-parse's own way to the pdf.js document (typed private): the items' sizes and fonts
      // are needed, which its getText() drops.
      const doc = await (parser as unknown as { load(): Promise<PdfDocument> }).load();
      total = doc.numPages;
      for (let n = 1; n <= total; n++) {
        const page = await doc.getPage(n);
        const content = await page.getTextContent();
        pages.push(content.items.map(toPdfItem).filter((it: PdfItem | null): it is PdfItem => it !== null));
        heights.push(Math.abs((page.view[3] ?? 0) - (page.view[1] ?? 0)));
        page.cleanup();
      }
    } catch (err) {
      throw pdfError(err, file);
    }
    let metadataTitle: string | null = null;
    try {
      const info = await parser.getInfo();
      const t = (info.info as { Title?: unknown } | undefined)?.Title;
      // Metadata titles are often file names ("FactSheet3"), publication codes or tool defaults.
      if (typeof t === 'string' && /\S\s+\S/.test(t.trim()) && !/^(untitled|microsoft word|document)/i.test(t.trim()) && !looksLikeCode(t.trim())) metadataTitle = t.trim();
    } catch {
      // Metadata is optional; text is what matters.
    }
    const mojibake = mojibakeFonts(pages);
    const lines: Line[] = pages.flatMap((items, i) => itemsToLines(items, i + 1, mojibake, heights[i]));
    const letters = lines.reduce((n, l) => n + (l.text.match(/\p{L}/gu) ?? []).length, 0);
    if (total === 0) throw new DocTuneError('EMPTY_DOCUMENT', 'PDF has no pages', { path: file });
    if (letters < 20 * Math.min(total, 3)) {
      throw new DocTuneError('NO_TEXT_LAYER', 'no text layer (scanned?): the PDF has pages but no extractable text', { path: file });
    }
    const blocks = linesToBlocks(lines);
    // The cover's largest text when the metadata has no real title; the file name when neither does.
    const title = metadataTitle ?? titleFromFirstPage(lines, bodySize(lines)) ?? fallbackTitle.replace(/[_]+/g, ' ').trim();
    return { format: 'pdf', title, pages: total, blocks };
  } finally {
    await parser.destroy().catch(() => undefined);
  }
}

function pdfError(err: unknown, file: string): DocTuneError {
  const e = err as { name?: string; message?: string };
  if (e?.name === 'PasswordException' || /password/i.test(e?.message ?? '')) {
    return new DocTuneError('ENCRYPTED', 'encrypted PDF: it needs a password to open', { path: file, cause: err });
  }
  if (e?.name === 'InvalidPDFException' || /invalid pdf/i.test(e?.message ?? '')) {
    return new DocTuneError('PARSE_FAILED', `corrupt PDF: ${e.message ?? 'invalid structure'}`, { path: file, cause: err });
  }
  return new DocTuneError('PARSE_FAILED', `could not read PDF: ${e?.message ?? String(err)}`, { path: file, cause: err });
}

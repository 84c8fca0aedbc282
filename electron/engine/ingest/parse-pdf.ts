import { PDFParse } from 'pdf-parse';
import { DocTuneError } from '../errors.js';
import { linesToBlocks } from './line-structure.js';
import type { Line } from './line.js';
import { bodySize, itemsToLines, looksLikeCode, mojibakeFonts, titleFromFirstPage, toPdfItem, type PdfItem } from './pdf-layout.js';
import { recognisePages, type OcrContext } from './ocr/ocr-pages.js';
import { renderPdfPage } from './ocr/page-images.js';
import type { Block, ParsedDocument } from './types.js';

type PdfPage = Parameters<typeof renderPdfPage>[0] & { view: number[]; getTextContent(): Promise<{ items: unknown[] }>; cleanup(): void };
interface PdfDocument {
  numPages: number;
  getPage(n: number): Promise<PdfPage>;
  canvasFactory: Parameters<typeof renderPdfPage>[1];
}

/** Fewer letters than this in a page's text layer: the page is a scan (or a picture) and is read by OCR. */
const MIN_PAGE_LETTERS = 30;

const letterCount = (items: PdfItem[]): number => items.reduce((n, it) => n + (it.str.match(/\p{L}/gu) ?? []).length, 0);

/**
 * A PDF's text: the text layer where a page has one; pages without (scans, inside otherwise digital PDFs
 * too) rendered and read by OCR when `ocr` is given, their passages marked as OCR text.
 */
export async function parsePdf(buf: Buffer, file: string, fallbackTitle: string, ocr?: OcrContext): Promise<ParsedDocument> {
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
    const scanned: number[] = [];
    let ocrBlocks: Block[] = [];
    let total: number;
    try {
      // load() is pdf-parse's own way to the pdf.js document (typed private): the items' sizes and fonts
      // are needed, which its getText() drops.
      const doc = await (parser as unknown as { load(): Promise<PdfDocument> }).load();
      total = doc.numPages;
      for (let n = 1; n <= total; n++) {
        const page = await doc.getPage(n);
        const content = await page.getTextContent();
        const items = content.items.map(toPdfItem).filter((it: PdfItem | null): it is PdfItem => it !== null);
        if (ocr && letterCount(items) < MIN_PAGE_LETTERS) {
          scanned.push(n);
          pages.push([]);
        } else pages.push(items);
        heights.push(Math.abs((page.view[3] ?? 0) - (page.view[1] ?? 0)));
        page.cleanup();
      }
      if (scanned.length && ocr) {
        ocrBlocks = await recognisePages(scanned.map((n) => ({
          page: n,
          image: async () => {
            const page = await doc.getPage(n);
            try {
              return await renderPdfPage(page, doc.canvasFactory);
            } finally {
              page.cleanup();
            }
          },
        })), ocr, file);
      }
    } catch (err) {
      throw err instanceof DocTuneError ? err : pdfError(err, file);
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
    if (!ocr && letters < 20 * Math.min(total, 3)) {
      throw new DocTuneError('NO_TEXT_LAYER', 'no text layer (scanned?): the PDF has pages but no extractable text, and OCR is switched off', { path: file });
    }
    if (!letters && !ocrBlocks.length) throw new DocTuneError('EMPTY_DOCUMENT', 'no text found in the PDF, even by OCR', { path: file });
    // Text-layer pages and recognised pages in page order (the sort is stable: each page's blocks keep theirs).
    const blocks = [...linesToBlocks(lines), ...ocrBlocks].sort((a, b) => (a.page ?? 0) - (b.page ?? 0));
    // The cover's largest text when the metadata has no real title; the file name when neither does.
    const title = metadataTitle ?? (lines.length ? titleFromFirstPage(lines, bodySize(lines)) : null) ?? fallbackTitle.replace(/[_]+/g, ' ').trim();
    return { format: 'pdf', title, pages: total, blocks, ...(scanned.length ? { ocrPages: scanned.length } : {}) };
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

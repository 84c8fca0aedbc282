import { PDFParse } from 'pdf-parse';
import { DocTuneError } from '../errors.js';
import { linesToBlocks, type Line } from './line-structure.js';
import type { ParsedDocument } from './types.js';

export async function parsePdf(buf: Buffer, file: string, fallbackTitle: string): Promise<ParsedDocument> {
  // pdf.js quietly rebuilds a cut-off file's cross-reference table and returns part of the text; a missing
  // end-of-file marker tells us the download or copy was incomplete, which the user must hear about.
  const tail = buf.subarray(Math.max(0, buf.length - 2048)).toString('latin1');
  if (!tail.includes('%%EOF')) {
    throw new DocTuneError('PARSE_FAILED', 'truncated PDF (no %%EOF end marker; incomplete download or copy?)', { path: file });
  }
  const parser = new PDFParse({ data: new Uint8Array(buf), verbosity: 0, isEvalSupported: false });
  try {
    let result;
    try {
      result = await parser.getText({ pageJoiner: '' });
    } catch (err) {
      throw pdfError(err, file);
    }
    let title: string | null = null;
    try {
      const info = await parser.getInfo();
      const t = (info.info as { Title?: unknown } | undefined)?.Title;
      // Metadata titles are often file names ("FactSheet3") or tool defaults; accept only real phrases.
      if (typeof t === 'string' && /\S\s+\S/.test(t.trim()) && !/^(untitled|microsoft word|document)/i.test(t.trim())) title = t.trim();
    } catch {
      // Metadata is optional; text is what matters.
    }
    const lines: Line[] = [];
    let letters = 0;
    for (const page of result.pages) {
      for (const text of page.text.split('\n')) {
        lines.push({ text, page: page.num });
        letters += (text.match(/\p{L}/gu) ?? []).length;
      }
    }
    if (result.total === 0) throw new DocTuneError('EMPTY_DOCUMENT', 'PDF has no pages', { path: file });
    if (letters < 20 * Math.min(result.total, 3)) {
      throw new DocTuneError('NO_TEXT_LAYER', 'no text layer (scanned?): the PDF has pages but no extractable text', { path: file });
    }
    const blocks = linesToBlocks(lines);
    // Without a metadata title the file name is the better guess: a cover page's first big line is often a
    // series number ("OSHA 3120") or a question from a sidebar.
    return { format: 'pdf', title: title ?? fallbackTitle.replace(/[_]+/g, ' ').trim(), pages: result.total, blocks };
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

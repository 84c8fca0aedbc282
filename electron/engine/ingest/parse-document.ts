import path from 'node:path';
import { DocTuneError } from '../errors.js';
import { decodeText } from './decode-text.js';
import { assertContentMatches, formatFromExtension } from './detect-format.js';
import { parseDocx } from './parse-docx.js';
import { parseHtml } from './parse-html.js';
import { parseImage } from './parse-image.js';
import { parseEpub } from './formats/parse-epub.js';
import { parsePptx } from './formats/parse-pptx.js';
import { parseCsv, parseOds, parseXlsx } from './formats/parse-spreadsheet.js';
import type { OcrContext } from './ocr/ocr-pages.js';
import { parseMarkdown } from './parse-markdown.js';
import { parsePdf } from './parse-pdf.js';
import { parseText } from './parse-text.js';
import type { ParsedDocument } from './types.js';

/**
 * Parse one file's bytes into blocks. Throws DocTuneError naming the file and the reason. With `ocr`, scanned
 * PDF pages and image files are read by OCR; without, they are refused.
 */
export async function parseDocument(file: string, bytes: Buffer, ocr?: OcrContext): Promise<ParsedDocument> {
  const format = formatFromExtension(file);
  if (!format) throw new DocTuneError('UNSUPPORTED_FORMAT', `unsupported file type "${path.extname(file) || 'none'}"`, { path: file });
  assertContentMatches(format, bytes, file);
  const fallbackTitle = path.basename(file, path.extname(file));
  let doc: ParsedDocument;
  switch (format) {
    case 'pdf':
      doc = await parsePdf(bytes, file, fallbackTitle, ocr);
      break;
    case 'image':
      doc = await parseImage(bytes, file, fallbackTitle, ocr);
      break;
    case 'xlsx':
      doc = await parseXlsx(bytes, file, fallbackTitle);
      break;
    case 'ods':
      doc = await parseOds(bytes, file, fallbackTitle);
      break;
    case 'csv':
      doc = parseCsv(bytes, file, fallbackTitle);
      break;
    case 'epub':
      doc = await parseEpub(bytes, file, fallbackTitle);
      break;
    case 'pptx':
      doc = await parsePptx(bytes, file, fallbackTitle);
      break;
    case 'docx':
      doc = await parseDocx(bytes, file, fallbackTitle);
      break;
    case 'html':
      doc = parseHtml(decodeText(bytes, file).text, fallbackTitle);
      break;
    case 'markdown':
      doc = parseMarkdown(decodeText(bytes, file).text, fallbackTitle);
      break;
    case 'text':
      doc = parseText(decodeText(bytes, file).text, fallbackTitle);
      break;
  }
  const hasText = doc.blocks.some((b) => (b.kind === 'table' ? b.rows.some((r) => r.some((c) => c.trim())) : b.text.trim()));
  if (!hasText) throw new DocTuneError('EMPTY_DOCUMENT', 'no text content found', { path: file });
  // A document that is nothing but headings (a title page, a list of short lines) is still content.
  if (doc.blocks.every((b) => b.kind === 'heading')) {
    doc.blocks = doc.blocks.map((b) => ({ kind: 'paragraph', text: b.kind === 'heading' ? b.text : '', page: b.page }));
  }
  return doc;
}

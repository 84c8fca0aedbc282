import { DocTuneError } from '../errors.js';
import { imagePages } from './ocr/page-images.js';
import { recognisePages, type OcrContext } from './ocr/ocr-pages.js';
import type { ParsedDocument } from './types.js';

/** A scan or photo of a document (each TIFF page a page): its text by OCR. */
export async function parseImage(bytes: Buffer, file: string, fallbackTitle: string, ocr: OcrContext | undefined): Promise<ParsedDocument> {
  if (!ocr) throw new DocTuneError('NO_TEXT_LAYER', 'an image needs OCR, which is switched off for this import', { path: file });
  const images = await imagePages(bytes, file);
  const blocks = await recognisePages(images.map((image, i) => ({ page: i + 1, image: async () => image })), ocr, file);
  if (!blocks.length) throw new DocTuneError('EMPTY_DOCUMENT', 'no text found in the image, even by OCR', { path: file });
  return { format: 'image', title: fallbackTitle.replace(/[_]+/g, ' ').trim(), pages: images.length, blocks, ocrPages: images.length };
}

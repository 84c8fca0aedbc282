/**
 * Text from page images: each page recognised in turn (progress after each), its paragraphs kept as blocks
 * with their page number and marked as OCR text.
 */
import type { Block } from '../types.js';
import { ocrError, type OcrEngine } from './ocr-engine.js';

export interface OcrContext {
  engine: OcrEngine;
  /** After each recognised page: how many are done of how many need OCR in this file. */
  onPage?: (done: number, total: number) => void;
}

/** Paragraph blocks for the pages given (page numbers 1-based), in page order. */
export async function recognisePages(pages: { page: number; image: () => Promise<Buffer> }[], ocr: OcrContext, file: string): Promise<Block[]> {
  const blocks: Block[] = [];
  let done = 0;
  for (const { page, image } of pages) {
    let paragraphs: string[];
    try {
      paragraphs = (await ocr.engine.recognize(await image())).paragraphs;
    } catch (err) {
      throw ocrError(err, file);
    }
    for (const text of paragraphs) blocks.push({ kind: 'paragraph', text, page, ocr: true });
    ocr.onPage?.(++done, pages.length);
  }
  return blocks;
}

import type { WireErrorShape } from '../errors.js';
import type { OcrLanguageSetting } from './ocr/ocr-engine.js';
import type { ChunkDraft, DocumentFormat } from './types.js';

export interface ParseRequest {
  id: number;
  /** A file to parse, or null to warm the thread up (load pdf.js, compile its hot paths). */
  file: string | null;
  targetTokens: number;
  overlapTokens: number;
  /** OCR for scanned pages and images, in this language (or detected); 'off' refuses them. */
  ocr: OcrLanguageSetting | 'off';
}

export interface ParsedFile {
  document: { title: string; format: DocumentFormat; pages: number | null; language: string; ocrPages?: number };
  chunks: ChunkDraft[];
}

/** While a file is read by OCR: after each page. */
export interface ParseProgress {
  id: number;
  progress: { ocrDone: number; ocrTotal: number };
}

export type ParseResponse = ({ id: number; ok: true } & ParsedFile) | { id: number; ok: false; error: WireErrorShape };
export type ParseMessage = ParseResponse | ParseProgress;

/** What parsers produce and the chunker consumes: a document as a flat list of structural blocks. */
export type Block =
  | { kind: 'heading'; level: number; text: string; page: number | null }
  /** ocr: recognised from a page image (a scan), not read from a text layer. */
  | { kind: 'paragraph'; text: string; page: number | null; ocr?: boolean }
  | { kind: 'list-item'; text: string; page: number | null }
  | { kind: 'table'; rows: string[][]; page: number | null };

export type DocumentFormat = 'pdf' | 'docx' | 'html' | 'markdown' | 'text' | 'image' | 'xlsx' | 'ods' | 'csv' | 'epub' | 'pptx';

export interface ParsedDocument {
  format: DocumentFormat;
  title: string;
  /** Page count where the format has pages (PDF, DOCX metadata, the frames of an image). */
  pages: number | null;
  blocks: Block[];
  /** Pages whose text came from OCR. */
  ocrPages?: number;
}

export interface ChunkDraft {
  ordinal: number;
  text: string;
  page: number | null;
  heading: string[];
  language: string;
  tokens: number;
  /** Some of the text was recognised from a page image (OCR), so it may hold recognition errors. */
  ocr: boolean;
}

export interface ChunkOptions {
  /** Target chunk size in (estimated) tokens. */
  targetTokens: number;
  /** Tokens of context repeated from the end of the previous chunk of the same section. */
  overlapTokens: number;
}

export const DEFAULT_CHUNK_OPTIONS: ChunkOptions = { targetTokens: 400, overlapTokens: 50 };

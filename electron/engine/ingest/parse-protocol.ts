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
  /** The caller takes chunks in batches (ParseBatch, each answered with a ParseAck): large text files stream. */
  stream?: boolean;
  /** When plain-text files are streamed (when the caller takes batches) and in what batches (tests lower both). */
  streamText?: { fromBytes?: number; batchChunks?: number };
}

/** Chunks of a file being streamed; the worker reads on once the batch is acknowledged. */
export interface ParseBatch {
  id: number;
  batch: ChunkDraft[];
}

/** The caller has stored a batch: the worker may go on. */
export interface ParseAck {
  ack: number;
}

export interface ParsedFile {
  document: { title: string; format: DocumentFormat; pages: number | null; language: string; ocrPages?: number };
  /** The chunks (after any streamed in batches). */
  chunks: ChunkDraft[];
  /** Chunks already handed over in batches (a streamed file). */
  streamed?: number;
}

/** While a file is read by OCR: after each page. */
export interface ParseProgress {
  id: number;
  progress: { ocrDone: number; ocrTotal: number };
}

export type ParseResponse = ({ id: number; ok: true } & ParsedFile) | { id: number; ok: false; error: WireErrorShape };
export type ParseMessage = ParseResponse | ParseProgress | ParseBatch;

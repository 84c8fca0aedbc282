import type { WireErrorShape } from '../errors.js';
import type { ChunkDraft, DocumentFormat } from './types.js';

export interface ParseRequest {
  id: number;
  /** A file to parse, or null to warm the thread up (load pdf.js, compile its hot paths). */
  file: string | null;
  targetTokens: number;
  overlapTokens: number;
}

export interface ParsedFile {
  document: { title: string; format: DocumentFormat; pages: number | null; language: string };
  chunks: ChunkDraft[];
}

export type ParseResponse = ({ id: number; ok: true } & ParsedFile) | { id: number; ok: false; error: WireErrorShape };

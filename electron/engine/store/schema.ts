import { Bool, type DataType, Field, FixedSizeList, Float32, Float64, Int32, List, Schema, Utf8 } from 'apache-arrow';

export const DOCUMENTS_TABLE = 'documents';
export const CHUNKS_TABLE = 'chunks';
export const SETTINGS_TABLE = 'settings';
export const QA_TABLE = 'qa_pairs';

/** Bumped when the on-disk layout changes; a newer workspace is refused rather than misread. */
export const WORKSPACE_VERSION = 1;

export const documentsSchema = new Schema([
  new Field('id', new Utf8(), false),
  new Field('path', new Utf8(), false),
  new Field('title', new Utf8(), false),
  new Field('sha256', new Utf8(), false),
  new Field('format', new Utf8(), false),
  new Field('language', new Utf8(), false),
  new Field('pages', new Int32(), true),
  new Field('chunks', new Int32(), false),
  new Field('status', new Utf8(), false),
  new Field('error', new Utf8(), true),
  new Field('size', new Float64(), false),
  new Field('imported_at', new Utf8(), false),
]);

export function chunksSchema(vectorDim: number | null): Schema {
  const fields: Field<DataType>[] = [
    new Field('id', new Utf8(), false),
    new Field('document_id', new Utf8(), false),
    new Field('ordinal', new Int32(), false),
    new Field('text', new Utf8(), false),
    // The text as the full-text index should tokenise it (Chinese pre-segmented into words).
    new Field('fts_text', new Utf8(), false),
    new Field('page', new Int32(), true),
    new Field('heading', new List(new Field('item', new Utf8(), true)), false),
    new Field('language', new Utf8(), false),
    new Field('tokens', new Int32(), false),
    new Field('content_hash', new Utf8(), false),
    // Added after the first release (older tables get it, null, when opened): the text came from OCR.
    new Field('ocr', new Bool(), true),
  ];
  if (vectorDim !== null) {
    fields.push(new Field('vector', new FixedSizeList(vectorDim, new Field('item', new Float32(), true)), false));
  }
  return new Schema(fields);
}

/** Question/answer pairs for training: reviewed (status) and traceable to the passage they rest on. */
export const qaSchema = new Schema([
  new Field('id', new Utf8(), false),
  new Field('question', new Utf8(), false),
  new Field('answer', new Utf8(), false),
  new Field('chunk_id', new Utf8(), true),
  new Field('document_id', new Utf8(), true),
  new Field('evidence', new Utf8(), true),
  new Field('language', new Utf8(), false),
  new Field('source', new Utf8(), false),
  new Field('status', new Utf8(), false),
  new Field('created_at', new Utf8(), false),
  // Added after the first release; older tables get them (all null) when opened.
  new Field('updated_at', new Utf8(), true),
  new Field('teacher', new Utf8(), true),
  new Field('paraphrase_of', new Utf8(), true),
  new Field('batch', new Utf8(), true),
]);

export interface QaPairRow {
  id: string;
  question: string;
  answer: string;
  chunk_id: string | null;
  document_id: string | null;
  evidence: string | null;
  language: string;
  /** import | extractive | local | api */
  source: string;
  /** pending | accepted | rejected | edited (accepted after a human changed it) */
  status: 'pending' | 'accepted' | 'rejected' | 'edited';
  created_at: string;
  /** Last status change or edit. */
  updated_at?: string | null;
  /** Which model taught it (API model name or GGUF file name); null for extractive and imports. */
  teacher?: string | null;
  /** The pair this one rephrases the question of (paraphrase augmentation). */
  paraphrase_of?: string | null;
  /** The generation run that wrote it when it was a pipeline run (its folder name, pipeline-…); else null. */
  batch?: string | null;
}

export const settingsSchema = new Schema([new Field('key', new Utf8(), false), new Field('value', new Utf8(), false)]);

export interface DocumentRow {
  id: string;
  path: string;
  title: string;
  sha256: string;
  format: string;
  language: string;
  pages: number | null;
  chunks: number;
  /** removed: the file left a watched folder; its row and chunks stay for the QA pairs that rest on them. */
  status: 'ready' | 'error' | 'removed';
  error: string | null;
  size: number;
  imported_at: string;
}

export interface ChunkRow {
  id: string;
  document_id: string;
  ordinal: number;
  text: string;
  fts_text: string;
  page: number | null;
  heading: string[];
  language: string;
  tokens: number;
  content_hash: string;
  /** Recognised from a page image (null in workspaces written before OCR). */
  ocr?: boolean | null;
  vector?: number[];
}

/** The chunk columns read back (all but the index's segmented text and the vector). */
export const CHUNK_COLUMNS = ['id', 'document_id', 'ordinal', 'text', 'page', 'heading', 'language', 'tokens', 'content_hash', 'ocr'];

/** SQL string literal for LanceDB filters. */
export function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

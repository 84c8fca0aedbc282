import type { ChunkView, DocumentSummary } from '../../shared/contract.js';
import type { ChunkRow, DocumentRow } from '../store/schema.js';

export function documentSummary(d: DocumentRow): DocumentSummary {
  return {
    id: d.id,
    path: d.path,
    title: d.title,
    format: d.format,
    language: d.language,
    pages: d.pages,
    chunks: d.chunks,
    status: d.status,
    error: d.error,
    sha256: d.sha256,
    importedAt: d.imported_at,
  };
}

export function chunkView(c: ChunkRow): ChunkView {
  return {
    id: c.id,
    documentId: c.document_id,
    ordinal: c.ordinal,
    text: c.text,
    page: c.page,
    heading: c.heading,
    language: c.language,
    tokens: c.tokens,
  };
}

import type { SearchHit } from '../../shared/contract.js';
import type { Embedder } from '../models/embedder.js';
import { queryTerms, segmentForIndex } from '../text/text-units.js';
import { CHUNK_COLUMNS, sqlString } from './schema.js';
import { plainChunk, type Workspace } from './workspace.js';

const RRF_K = 60;
const COLUMNS = CHUNK_COLUMNS;

/**
 * Hybrid search: BM25 over the (CJK-segmented) full-text column always; nearest vectors too when the
 * workspace has an embedding model; the two rankings fused by reciprocal rank. Only committed documents'
 * chunks are returned, so a half-finished import is never visible. `documentId` keeps the search to one document.
 */
export async function searchWorkspace(ws: Workspace, query: string, k: number, embedder?: Embedder | null, options: { documentId?: string } = {}): Promise<SearchHit[]> {
  const q = query.trim();
  if (!q) return [];
  const docs = await ws.committedDocumentIds();
  if (docs.size === 0) return [];
  const table = ws.chunkTable();
  const pool = Math.max(k * 4, 20);
  // Removed documents keep their passages (for their QA pairs): left out in the query itself, so that they
  // never crowd real hits out of the candidate pool.
  const removed = (await ws.listDocuments()).filter((d) => d.status === 'removed').map((d) => sqlString(d.id));
  const where = [
    options.documentId ? `document_id = ${sqlString(options.documentId)}` : null,
    removed.length ? `document_id NOT IN (${removed.join(', ')})` : null,
  ].filter(Boolean).join(' AND ') || null;

  const ftsQuery = segmentForIndex(q);
  const textQuery = table.query().fullTextSearch(ftsQuery, { columns: ['fts_text'] });
  const textRows = await (where ? textQuery.where(where) : textQuery)
    .select([...COLUMNS, '_score'])
    .limit(pool)
    .toArray()
    .catch((err: Error) => {
      // An empty or not-yet-indexed table has nothing to find.
      if (/no.*index|not found|INVERTED/i.test(err.message)) return [];
      throw err;
    });

  let vectorRows: Record<string, unknown>[] = [];
  if (embedder && ws.hasVectors) {
    const vector = await embedder.embed(q);
    const vectorQuery = table.query().nearestTo(vector).distanceType('cosine');
    vectorRows = await (where ? vectorQuery.where(where) : vectorQuery).select([...COLUMNS, '_distance']).limit(pool).toArray();
  }

  const fused = new Map<string, { row: Record<string, unknown>; score: number; bm25: number | null }>();
  textRows.forEach((row, rank) => {
    fused.set(row.id as string, { row, score: 1 / (RRF_K + rank + 1), bm25: Number(row._score ?? 0) });
  });
  vectorRows.forEach((row, rank) => {
    const prev = fused.get(row.id as string);
    const s = 1 / (RRF_K + rank + 1);
    if (prev) prev.score += s;
    else fused.set(row.id as string, { row, score: s, bm25: null });
  });

  const hybrid = vectorRows.length > 0;
  const terms = queryTerms(q);
  return [...fused.values()]
    .filter((f) => docs.has(f.row.document_id as string))
    .sort((a, b) => b.score - a.score)
    .slice(0, k)
    .map((f) => {
      const chunk = plainChunk(f.row);
      const doc = docs.get(chunk.document_id)!;
      return {
        chunkId: chunk.id,
        documentId: chunk.document_id,
        text: chunk.text,
        path: doc.path,
        title: doc.title,
        page: chunk.page,
        heading: chunk.heading,
        // BM25 when text search alone ranked the hits (meaningful to read); the fused rank score otherwise.
        score: round(hybrid || f.bm25 === null ? f.score : f.bm25),
        terms,
      };
    });
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

import { DocTuneError } from '../errors.js';
import { addQaPairs, listQaPairs } from '../store/qa-store.js';
import type { QaPairRow } from '../store/schema.js';
import type { Workspace } from '../store/workspace.js';
import { extractPairs } from './extractive-teacher.js';
import { NearDuplicateFilter } from './rouge.js';

export interface GenerateSummary {
  chunks: number;
  questions: number;
  pairs: number;
  rejected_ungrounded: number;
  duplicates: number;
  failed: number;
}

export interface GenerateOptions {
  teacher: 'extractive';
  questionsPerChunk?: number;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number; pairs: number }) => void;
}

/**
 * Turn the workspace's passages into pending QA pairs. Passages this teacher already answered are skipped
 * (a rerun resumes), questions near-duplicating any stored one (ROUGE-L ≥ 0.7) are dropped, and a pair whose
 * evidence is not in its passage is rejected. Pairs are stored per passage, so an interruption loses at most
 * the passage in progress.
 */
export async function generatePairs(ws: Workspace, options: GenerateOptions): Promise<GenerateSummary> {
  const docs = await ws.committedDocumentIds();
  const chunks = await ws.allChunks();
  if (!chunks.length) throw new DocTuneError('BAD_ARGUMENT', 'the workspace has no documents yet: import some first (doctune ingest)');
  const existing = await listQaPairs(ws);
  const done = new Set(existing.filter((p) => p.source === options.teacher && p.chunk_id).map((p) => p.chunk_id!));
  const filter = new NearDuplicateFilter(0.7);
  for (const p of existing) filter.admit(p.question, p.answer);

  const summary: GenerateSummary = { chunks: 0, questions: 0, pairs: 0, rejected_ungrounded: 0, duplicates: 0, failed: 0 };
  const todo = chunks.filter((c) => !done.has(c.id)).sort((a, b) => a.document_id.localeCompare(b.document_id) || a.ordinal - b.ordinal);
  for (const [i, chunk] of todo.entries()) {
    if (options.signal?.aborted) throw new DocTuneError('CANCELLED', 'generation cancelled; run it again to continue');
    summary.chunks++;
    const rows: Omit<QaPairRow, 'id' | 'created_at'>[] = [];
    try {
      const extracted = extractPairs(
        { text: chunk.text, heading: chunk.heading, language: chunk.language, title: docs.get(chunk.document_id)?.title ?? '' },
        options.questionsPerChunk ?? 4,
      );
      for (const pair of extracted) {
        summary.questions++;
        if (!chunk.text.includes(pair.evidence)) {
          summary.rejected_ungrounded++;
          continue;
        }
        if (!filter.admit(pair.question, pair.answer)) {
          summary.duplicates++;
          continue;
        }
        rows.push({
          question: pair.question, answer: pair.answer, chunk_id: chunk.id, document_id: chunk.document_id, evidence: pair.evidence,
          language: chunk.language, source: options.teacher, status: 'pending',
        });
      }
      summary.pairs += await addQaPairs(ws, rows);
    } catch (err) {
      if (err instanceof DocTuneError && err.code === 'CANCELLED') throw err;
      summary.failed++;
    }
    options.onProgress?.({ done: i + 1, total: todo.length, pairs: summary.pairs });
  }
  return summary;
}

/** Accept every pending pair (after review, or to trust the quality checks). */
export async function acceptAllPending(ws: Workspace): Promise<number> {
  const table = await ws.qaTable();
  const pending = await table.countRows("status = 'pending'");
  if (pending) await table.update({ where: "status = 'pending'", values: { status: 'accepted' } });
  return pending;
}

import { DocTuneError } from '../errors.js';
import { addQaPairs, listQaPairs } from '../store/qa-store.js';
import type { QaPairRow } from '../store/schema.js';
import type { Workspace } from '../store/workspace.js';
import { extractPairs, type ExtractedPair, type PassageInput } from './extractive-teacher.js';
import { LocalTeacher, type TeacherStats } from './local-teacher.js';
import { NearDuplicateFilter } from './rouge.js';

export interface GenerateSummary {
  /** Model outputs and how many failed to parse (local teacher; the grammar keeps this at 0). */
  outputs?: TeacherStats;
  chunks: number;
  questions: number;
  pairs: number;
  rejected_ungrounded: number;
  duplicates: number;
  failed: number;
}

export interface GenerateOptions {
  /** extractive, or a local GGUF model (loaded through node-llama-cpp). */
  teacher: 'extractive' | { local: string; parallel?: number; threads?: number };
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
  const source = options.teacher === 'extractive' ? 'extractive' : 'local';
  const docs = await ws.committedDocumentIds();
  const chunks = await ws.allChunks();
  if (!chunks.length) throw new DocTuneError('BAD_ARGUMENT', 'the workspace has no documents yet: import some first (doctune ingest)');
  const existing = await listQaPairs(ws);
  const done = new Set(existing.filter((p) => p.source === source && p.chunk_id).map((p) => p.chunk_id!));
  const filter = new NearDuplicateFilter(0.7);
  for (const p of existing) filter.admit(p.question, p.answer);

  const summary: GenerateSummary = { chunks: 0, questions: 0, pairs: 0, rejected_ungrounded: 0, duplicates: 0, failed: 0 };
  const todo = chunks.filter((c) => !done.has(c.id)).sort((a, b) => a.document_id.localeCompare(b.document_id) || a.ordinal - b.ordinal);
  const perChunk = options.questionsPerChunk ?? 4;
  const local = options.teacher === 'extractive' ? null : await LocalTeacher.load(options.teacher.local, options.teacher);
  const teach = async (p: PassageInput): Promise<Pick<ExtractedPair, 'question' | 'answer' | 'evidence'>[]> =>
    local ? local.pairsFor(p, perChunk) : extractPairs(p, perChunk);
  try {
    // A window of passages in flight (the local teacher batches them); results are stored in order.
    const window = options.teacher === 'extractive' ? 1 : Math.max(1, options.teacher.parallel ?? 4);
    for (let start = 0; start < todo.length; start += window) {
      if (options.signal?.aborted) throw new DocTuneError('CANCELLED', 'generation cancelled; run it again to continue');
      const batch = todo.slice(start, start + window);
      const results = await Promise.all(
        batch.map((chunk) =>
          teach({ text: chunk.text, heading: chunk.heading, language: chunk.language, title: docs.get(chunk.document_id)?.title ?? '' }).catch(() => null),
        ),
      );
      for (const [k, chunk] of batch.entries()) {
        summary.chunks++;
        const extracted = results[k];
        if (!extracted) {
          summary.failed++;
          continue;
        }
        const rows: Omit<QaPairRow, 'id' | 'created_at'>[] = [];
        for (const pair of extracted) {
          summary.questions++;
          if (!isGrounded(pair.evidence, chunk.text)) {
            summary.rejected_ungrounded++;
            continue;
          }
          if (!filter.admit(pair.question, pair.answer)) {
            summary.duplicates++;
            continue;
          }
          rows.push({
            question: pair.question, answer: pair.answer, chunk_id: chunk.id, document_id: chunk.document_id, evidence: pair.evidence,
            language: chunk.language, source, status: 'pending',
          });
        }
        summary.pairs += await addQaPairs(ws, rows);
        options.onProgress?.({ done: start + k + 1, total: todo.length, pairs: summary.pairs });
      }
    }
  } finally {
    if (local) {
      summary.outputs = { ...local.stats };
      await local.dispose();
    }
  }
  return summary;
}

/**
 * The grounding check: the evidence the teacher cites must stand in the passage (ignoring spacing), and be
 * long enough to mean something. An answer resting on nothing the passage says is rejected.
 */
export function isGrounded(evidence: string, passage: string): boolean {
  const norm = (x: string): string => x.replace(/\s+/g, '').toLowerCase();
  const e = norm(evidence);
  return e.length >= 6 && norm(passage).includes(e);
}

/** Accept every pending pair (after review, or to trust the quality checks). */
export async function acceptAllPending(ws: Workspace): Promise<number> {
  const table = await ws.qaTable();
  const pending = await table.countRows("status = 'pending'");
  if (pending) await table.update({ where: "status = 'pending'", values: { status: 'accepted' } });
  return pending;
}

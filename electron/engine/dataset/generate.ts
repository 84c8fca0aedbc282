import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { DocTuneError } from '../errors.js';
import { addQaPairs, listQaPairs, type NewQaPair } from '../store/qa-store.js';
import type { Workspace } from '../store/workspace.js';
import { ApiTeacher } from './api-teacher.js';
import type { ChatCompletionsOptions } from './chat-completions-client.js';
import { extractPairs, type PassageInput } from './extractive-teacher.js';
import { LocalTeacher } from './local-teacher.js';
import { NearDuplicateFilter } from './rouge.js';
import type { Teacher, TeacherPair, TeacherStats } from './teacher.js';

export interface GenerateSummary {
  /** Model outputs, how many failed to parse, and for an API requests, retries, tokens and cost. */
  outputs?: TeacherStats;
  chunks: number;
  questions: number;
  pairs: number;
  /** Paraphrased questions stored beside the pairs they reword. */
  paraphrases: number;
  rejected_ungrounded: number;
  duplicates: number;
  failed: number;
}

export type TeacherChoice =
  | 'extractive'
  | { local: string; parallel?: number; threads?: number }
  | { api: ChatCompletionsOptions };

export interface GenerateProgress {
  done: number;
  total: number;
  pairs: number;
  /** Seconds left at the pace so far (null before the first passage). */
  eta: number | null;
}

export interface GenerateOptions {
  teacher: TeacherChoice;
  questionsPerChunk?: number;
  /** Rewordings per stored question (a model teacher only). */
  paraphrases?: number;
  /** Recorded on every pair written (a pipeline run's name), so that run can accept exactly its own. */
  batch?: string;
  signal?: AbortSignal;
  onProgress?: (p: GenerateProgress) => void;
}

export function teacherSource(t: TeacherChoice): { source: string; teacher: string | null } {
  if (t === 'extractive') return { source: 'extractive', teacher: null };
  if ('local' in t) return { source: 'local', teacher: path.basename(t.local) };
  return { source: 'api', teacher: t.api.model };
}

export async function openTeacher(t: TeacherChoice): Promise<Teacher | null> {
  if (t === 'extractive') return null;
  if ('local' in t) return LocalTeacher.load(t.local, t);
  return new ApiTeacher(t.api);
}

/** A failure no retry fixes (wrong key, unknown model, cancelled): it ends the run instead of one passage. */
const isFatal = (err: unknown): boolean => err instanceof DocTuneError && (err.code === 'MODEL' || err.code === 'CANCELLED' || err.code === 'BAD_ARGUMENT');

/**
 * Turn the workspace's passages into pending QA pairs. Passages this teacher already answered are skipped
 * (a rerun resumes), questions near-duplicating any stored one (ROUGE-L ≥ 0.7) are dropped, and a pair whose
 * evidence is not in its passage is rejected. With paraphrases, each stored question also gets k rewordings
 * (same answer and evidence), linked to it. Pairs are stored per passage, so an interruption loses at most
 * the passages in flight.
 */
export async function generatePairs(ws: Workspace, options: GenerateOptions): Promise<GenerateSummary> {
  const { source, teacher: teacherName } = teacherSource(options.teacher);
  const docs = await ws.committedDocumentIds();
  const chunks = await ws.allChunks();
  if (!chunks.length) throw new DocTuneError('BAD_ARGUMENT', 'the workspace has no documents yet: import some first (doctune ingest)');
  const existing = await listQaPairs(ws);
  const done = new Set(existing.filter((p) => p.source === source && p.chunk_id).map((p) => p.chunk_id!));
  const filter = new NearDuplicateFilter(0.7);
  for (const p of existing) filter.admit(p.question, p.answer);

  const summary: GenerateSummary = { chunks: 0, questions: 0, pairs: 0, paraphrases: 0, rejected_ungrounded: 0, duplicates: 0, failed: 0 };
  const todo = chunks.filter((c) => !done.has(c.id)).sort((a, b) => a.document_id.localeCompare(b.document_id) || a.ordinal - b.ordinal);
  const perChunk = options.questionsPerChunk ?? 4;
  const k = options.teacher === 'extractive' ? 0 : Math.max(0, options.paraphrases ?? 0);
  const teacher = await openTeacher(options.teacher);
  const teach = async (p: PassageInput): Promise<TeacherPair[]> => (teacher ? teacher.pairsFor(p, perChunk) : extractPairs(p, perChunk));
  const started = Date.now();
  try {
    // A window of passages in flight (a model teacher works on them together); results are stored in order.
    const window = teacher ? teacher.parallel : 1;
    for (let start = 0; start < todo.length; start += window) {
      if (options.signal?.aborted) throw new DocTuneError('CANCELLED', 'generation cancelled; run it again to continue');
      const batch = todo.slice(start, start + window);
      const results = await Promise.all(
        batch.map((chunk) =>
          teach({ text: chunk.text, heading: chunk.heading, language: chunk.language, title: docs.get(chunk.document_id)?.title ?? '' }).catch((err: unknown) => {
            if (isFatal(err)) throw err;
            return null;
          }),
        ),
      );
      for (const [i, chunk] of batch.entries()) {
        summary.chunks++;
        const extracted = results[i];
        if (!extracted) {
          summary.failed++;
          continue;
        }
        const rows: NewQaPair[] = [];
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
            id: randomUUID(), question: pair.question, answer: pair.answer, chunk_id: chunk.id, document_id: chunk.document_id, evidence: pair.evidence,
            language: chunk.language, source, teacher: teacherName, status: 'pending', ...(options.batch ? { batch: options.batch } : {}),
          });
        }
        if (teacher && k > 0) {
          const rewordings = await Promise.all(rows.map((r) => teacher.paraphrase(r.question, r.language, k).catch((err: unknown) => {
            if (isFatal(err)) throw err;
            return [];
          })));
          rows.slice().forEach((r, j) => {
            for (const q of rewordings[j]!) rows.push({ ...r, id: randomUUID(), question: q, paraphrase_of: r.id! });
            summary.paraphrases += rewordings[j]!.length;
          });
        }
        summary.pairs += await addQaPairs(ws, rows);
        const doneCount = start + i + 1;
        const elapsed = (Date.now() - started) / 1000;
        options.onProgress?.({ done: doneCount, total: todo.length, pairs: summary.pairs, eta: Math.round((elapsed / doneCount) * (todo.length - doneCount)) });
      }
    }
  } finally {
    if (teacher) {
      summary.outputs = { ...teacher.stats };
      await teacher.dispose();
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
/**
 * Accept the pending pairs pipeline runs wrote (batch pipeline-…): this run's, and those of an earlier run
 * that stopped before accepting (their passages count as answered, so this run did not write them again).
 * Pairs generated for review on the Training set page (no batch) stay pending.
 */
export async function acceptPipelinePairs(ws: Workspace): Promise<number> {
  const table = await ws.qaTable();
  const where = "status = 'pending' AND batch LIKE 'pipeline-%'";
  const pending = await table.countRows(where);
  if (pending) await table.update({ where, values: { status: 'accepted' } });
  return pending;
}

export async function acceptAllPending(ws: Workspace): Promise<number> {
  const table = await ws.qaTable();
  const pending = await table.countRows("status = 'pending'");
  if (pending) await table.update({ where: "status = 'pending'", values: { status: 'accepted' } });
  return pending;
}

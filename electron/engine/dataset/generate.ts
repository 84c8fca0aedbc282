import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { DocTuneError } from '../errors.js';
import { addQaPairs, listQaPairs, type NewQaPair } from '../store/qa-store.js';
import type { Workspace } from '../store/workspace.js';
import { ApiTeacher } from './api-teacher.js';
import type { ChatCompletionsOptions } from './chat-completions-client.js';
import { extractPairs, type PassageInput } from './extractive-teacher.js';
import { LocalTeacher } from './local-teacher.js';
import { groupSections, placeEvidence, type Section } from './passage-sections.js';
import { NearDuplicateFilter } from './rouge.js';
import type { Teacher, TeacherPair, TeacherStats } from './teacher.js';
import { isGrounded } from './evidence.js';

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

/** A teacher opened as a judge of answers (evaluation), with the name reports give it; the extractive teacher cannot judge. */
export async function openJudge(t: TeacherChoice): Promise<{ teacher: Teacher; name: string }> {
  const teacher = await openTeacher(t);
  if (!teacher) throw new DocTuneError('BAD_ARGUMENT', 'the extractive teacher cannot grade answers: a judge is a local model or an API');
  return { teacher, name: teacherSource(t).teacher ?? teacher.kind };
}

/** A failure no retry fixes (wrong key, unknown model, a server not there, cancelled): it ends the run instead of one passage. */
const isFatal = (err: unknown): boolean =>
  err instanceof DocTuneError && (err.code === 'MODEL' || err.code === 'CONNECTION' || err.code === 'CANCELLED' || err.code === 'BAD_ARGUMENT');

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
  const perChunk = options.questionsPerChunk ?? 4;
  const k = options.teacher === 'extractive' ? 0 : Math.max(0, options.paraphrases ?? 0);
  // The extractive teacher answers from whole sections (a section none of whose passages has pairs yet); a
  // model teacher reads one passage at a time.
  const units: Section[] = options.teacher === 'extractive'
    ? groupSections(chunks).filter((s) => !s.parts.some((part) => done.has(part.id)))
    : chunks.filter((c) => !done.has(c.id)).sort((a, b) => a.document_id.localeCompare(b.document_id) || a.ordinal - b.ordinal)
      .map((c) => ({ documentId: c.document_id, heading: c.heading, language: c.language, parts: [{ id: c.id, text: c.text }], text: c.text }));
  const total = units.reduce((n, u) => n + u.parts.length, 0);
  const teacher = await openTeacher(options.teacher);
  const teach = async (u: Section): Promise<TeacherPair[]> => {
    const p: PassageInput = { text: u.text, heading: u.heading, language: u.language, title: docs.get(u.documentId)?.title ?? '' };
    return teacher ? teacher.pairsFor(p, perChunk) : extractPairs(p, perChunk * u.parts.length);
  };
  const started = Date.now();
  let doneCount = 0;
  // The first failure and how many units were tried: if every one failed, the teacher is the problem, not a passage.
  let firstFailure: unknown = null;
  let tried = 0;
  try {
    // A window of passages in flight (a model teacher works on them together); results are stored in order.
    const window = teacher ? teacher.parallel : 1;
    for (let start = 0; start < units.length; start += window) {
      if (options.signal?.aborted) throw new DocTuneError('CANCELLED', 'generation cancelled; run it again to continue');
      const batch = units.slice(start, start + window);
      const results = await Promise.all(
        batch.map((unit) =>
          teach(unit).catch((err: unknown) => {
            if (isFatal(err)) throw err;
            firstFailure ??= err;
            return null;
          }),
        ),
      );
      for (const [i, unit] of batch.entries()) {
        tried++;
        summary.chunks += unit.parts.length;
        doneCount += unit.parts.length;
        const extracted = results[i];
        if (!extracted) {
          summary.failed++;
          continue;
        }
        const rows: NewQaPair[] = [];
        for (const pair of extracted) {
          summary.questions++;
          // Filed under the passage its evidence stands in (a section's answer under the passage it starts in).
          const placed = unit.parts.length === 1
            ? (isGrounded(pair.evidence, unit.parts[0]!.text) ? { id: unit.parts[0]!.id, evidence: pair.evidence } : null)
            : placeEvidence(pair.evidence, unit.parts);
          if (!placed || !isGrounded(placed.evidence, unit.parts.find((part) => part.id === placed.id)!.text)) {
            summary.rejected_ungrounded++;
            continue;
          }
          if (!filter.admit(pair.question, pair.answer)) {
            summary.duplicates++;
            continue;
          }
          rows.push({
            id: randomUUID(), question: pair.question, answer: pair.answer, chunk_id: placed.id, document_id: unit.documentId, evidence: placed.evidence,
            language: unit.language, source, teacher: teacherName, status: 'pending', ...(options.batch ? { batch: options.batch } : {}),
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
        const elapsed = (Date.now() - started) / 1000;
        options.onProgress?.({ done: doneCount, total, pairs: summary.pairs, eta: Math.round((elapsed / doneCount) * (total - doneCount)) });
      }
    }
    if (tried > 0 && summary.failed === tried) {
      const code = firstFailure instanceof DocTuneError ? firstFailure.code : 'INTERNAL';
      throw new DocTuneError(code, `every passage failed (${summary.failed} of ${tried}); the first: ${(firstFailure as Error | null)?.message ?? 'unknown error'}`, { cause: firstFailure });
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

/**
 * The dataset side of the engine's contract: reviewing QA pairs (filters, search, edits, bulk status), the
 * passage each rests on with its evidence located, teacher settings, background generation with progress
 * events, and export.
 */
import path from 'node:path';
import { DEFAULT_TEACHER, type EventName, type EventOf, type QaPairView, type ResultOf } from '../../shared/contract.js';
import { keychainAvailable, keychainSet, resolveApiKey } from '../dataset/api-key.js';
import { exportFileName, exportPairs, pairSources } from '../dataset/export.js';
import { generatePairs, openTeacher, teacherSource, type TeacherChoice } from '../dataset/generate.js';
import type { Teacher } from '../dataset/teacher.js';
import { DocTuneError, toWireError } from '../errors.js';
import type { JobSlots } from './job-slots.js';
import { countByStatus, listQaPairs, qaPairById, setQaStatus, sourceState, updateQaPair } from '../store/qa-store.js';
import type { DocumentRow, QaPairRow } from '../store/schema.js';
import type { StoredTeacherSettings, Workspace } from '../store/workspace.js';
import { locateEvidence } from '../dataset/evidence.js';

function pairView(p: QaPairRow, docs: ReadonlyMap<string, DocumentRow>): QaPairView {
  const titles = { get: (id: string) => docs.get(id)?.title };
  return {
    id: p.id, question: p.question, answer: p.answer, evidence: p.evidence, status: p.status, source: p.source, teacher: p.teacher ?? null,
    documentId: p.document_id, documentTitle: p.document_id ? titles.get(p.document_id) ?? null : null, chunkId: p.chunk_id, language: p.language,
    paraphraseOf: p.paraphrase_of ?? null, createdAt: p.created_at, updatedAt: p.updated_at ?? p.created_at, sourceState: sourceState(p, docs),
  };
}

export class DatasetDoor {
  constructor(
    private readonly ws: () => Promise<Workspace>,
    private readonly emit: <E extends EventName>(event: E, payload: EventOf<E>) => void,
    private readonly threads: number | undefined,
    private readonly jobs: JobSlots,
  ) {}

  private async documents(ws: Workspace): Promise<Map<string, DocumentRow>> {
    return new Map((await ws.listDocuments()).map((d) => [d.id, d]));
  }

  /** One read of the table: the page, the counts, and the documents and teachers to filter by. */
  async list(f: { status: string; documentId?: string | undefined; source?: string | undefined; search?: string | undefined; offset: number; limit: number }): Promise<ResultOf<'qa.list'>> {
    const ws = await this.ws();
    const [docs, all] = await Promise.all([this.documents(ws), listQaPairs(ws)]);
    const words = (f.search ?? '').toLowerCase().split(/\s+/).filter(Boolean);
    const rows = all.filter((p) =>
      (f.status === 'all' || p.status === f.status) && (!f.documentId || p.document_id === f.documentId) && (!f.source || p.source === f.source) &&
      words.every((w) => `${p.question}\n${p.answer}`.toLowerCase().includes(w)));
    const docIds = new Set(all.map((p) => p.document_id).filter((d): d is string => Boolean(d)));
    return {
      total: rows.length,
      pairs: rows.slice(f.offset, f.offset + f.limit).map((p) => pairView(p, docs)),
      counts: countByStatus(all),
      documents: [...docIds].map((id) => ({ id, title: docs.get(id)?.title ?? id })).sort((a, b) => a.title.localeCompare(b.title)),
      sources: [...new Set(all.map((p) => p.source))].sort(),
      acceptedOfRemoved: all.filter((p) => (p.status === 'accepted' || p.status === 'edited') && sourceState(p, docs) === 'removed').length,
    };
  }

  async passage(id: string): Promise<ResultOf<'qa.passage'>> {
    const ws = await this.ws();
    const pair = await qaPairById(ws, id);
    if (!pair?.chunk_id) return null;
    const chunk = await ws.chunkById(pair.chunk_id);
    if (!chunk) return null;
    // A removed document's passages stay readable from its pairs.
    const docs = await this.documents(ws);
    const doc = docs.get(chunk.document_id);
    return {
      chunkId: chunk.id, text: chunk.text, heading: chunk.heading, page: chunk.page ?? null, documentTitle: doc?.title ?? '',
      evidence: locateEvidence(chunk.text, pair.evidence), ocr: chunk.ocr === true, sourceState: sourceState(pair, docs),
    };
  }

  async update(args: { id: string; question?: string | undefined; answer?: string | undefined; status?: QaPairRow['status'] | undefined }): Promise<QaPairView> {
    const ws = await this.ws();
    const row = await updateQaPair(ws, args.id, { ...(args.question ? { question: args.question } : {}), ...(args.answer ? { answer: args.answer } : {}), ...(args.status ? { status: args.status } : {}) });
    if (!row) throw new DocTuneError('NOT_FOUND', `no QA pair ${args.id}`);
    return pairView(row, await this.documents(ws));
  }

  async setStatus(ids: string[], status: QaPairRow['status']): Promise<{ updated: number }> {
    return { updated: await setQaStatus(await this.ws(), ids, status) };
  }

  async teacher(): Promise<ResultOf<'teacher.get'>> {
    const ws = await this.ws();
    return { ...DEFAULT_TEACHER, ...(ws.settings.teacher ?? {}), keychain: keychainAvailable() };
  }

  async setTeacher(patch: Partial<StoredTeacherSettings>): Promise<ResultOf<'teacher.get'>> {
    const ws = await this.ws();
    const next = { ...DEFAULT_TEACHER, ...(ws.settings.teacher ?? {}), ...patch };
    if (next.kind === 'local' && !next.localModel) throw new DocTuneError('BAD_ARGUMENT', 'choose the local GGUF model that teaches');
    if (next.kind === 'api' && (!/^https?:\/\/[^/]/.test(next.baseUrl) || !next.model)) throw new DocTuneError('BAD_ARGUMENT', 'an API teacher needs a base URL (http:// or https://) and a model name');
    await ws.updateSettings({ teacher: next });
    return { ...next, keychain: keychainAvailable() };
  }

  setKey(baseUrl: string, key: string): { stored: boolean } {
    keychainSet(baseUrl, key);
    return { stored: true };
  }

  /** The teacher of the workspace's settings, as generation and the pipeline use it. */
  async teacherChoice(): Promise<TeacherChoice> {
    return this.choice({ ...DEFAULT_TEACHER, ...((await this.ws()).settings.teacher ?? {}) });
  }

  private choice(t: StoredTeacherSettings): TeacherChoice {
    if (t.kind === 'extractive') return 'extractive';
    if (t.kind === 'local') return { local: t.localModel, parallel: t.concurrency, ...(this.threads ? { threads: this.threads } : {}) };
    // The keychain's key for this base URL, or none: an environment variable is the CLI's, per command.
    const apiKey = resolveApiKey(t.baseUrl);
    return { api: { baseUrl: t.baseUrl, model: t.model, concurrency: t.concurrency, ...(apiKey ? { apiKey } : {}) } };
  }

  /** The workspace's teacher as a judge of answers (evaluation); the extractive teacher cannot judge. */
  async openJudge(): Promise<{ teacher: Teacher; name: string }> {
    // One answer graded at a time: the judge runs beside the two models being evaluated.
    const choice = this.choice({ ...DEFAULT_TEACHER, ...((await this.ws()).settings.teacher ?? {}), concurrency: 1 });
    const teacher = await openTeacher(choice);
    if (!teacher) throw new DocTuneError('BAD_ARGUMENT', 'the extractive teacher cannot grade answers: choose a local model or an API as the teacher');
    return { teacher, name: teacherSource(choice).teacher ?? teacher.kind };
  }

  /** Starts generation in the background (one at a time); a rerun resumes where the last one stopped. */
  async generate(): Promise<{ jobId: string }> {
    const { jobId } = await this.jobs.start({
      kind: 'generate',
      setup: async () => {
        const ws = await this.ws();
        const t = { ...DEFAULT_TEACHER, ...(ws.settings.teacher ?? {}) };
        return { ws, t, teacher: this.choice(t) };
      },
      run: ({ ws, t, teacher }, job) =>
        generatePairs(ws, {
          teacher, questionsPerChunk: t.questionsPerChunk, paraphrases: t.paraphrases, signal: job.signal,
          onProgress: (p) => this.emit('generate.progress', { jobId: job.id, ...p }),
        }).then(
          (summary) => {
            // Free before the event goes out: a listener may start the next run at once.
            job.release();
            this.emit('generate.done', { jobId: job.id, summary });
          },
          (err: unknown) => {
            job.release();
            const e = toWireError(err);
            this.emit('generate.failed', { jobId: job.id, error: e.message, code: e.code });
          },
        ),
    });
    return { jobId };
  }

  cancel(jobId: string): { cancelled: boolean } {
    return { cancelled: this.jobs.cancel(jobId, 'generate') };
  }

  async exportsDir(): Promise<string> {
    return path.join((await this.ws()).dir, 'exports');
  }

  async export(format: 'alpaca' | 'sharegpt' | 'messages', status: 'accepted' | 'all'): Promise<ResultOf<'dataset.export'>> {
    const ws = await this.ws();
    const pairs = status === 'all' ? await listQaPairs(ws) : [...(await listQaPairs(ws, 'accepted')), ...(await listQaPairs(ws, 'edited'))];
    const stem = `doctune-${format}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    const file = await exportPairs(pairs, format, exportFileName(path.join(await this.exportsDir(), stem), format), { name: stem, sources: await pairSources(ws, pairs) });
    return { path: file, fileName: path.basename(file), count: pairs.length };
  }

  async close(): Promise<void> {
    await this.jobs.close(['generate']);
  }
}

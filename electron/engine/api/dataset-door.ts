/**
 * The dataset side of the engine's contract: reviewing QA pairs (filters, search, edits, bulk status), the
 * passage each rests on with its evidence located, teacher settings, background generation with progress
 * events, and export.
 */
import path from 'node:path';
import { DEFAULT_TEACHER, type EventName, type EventOf, type QaPairView, type ResultOf } from '../../shared/contract.js';
import { keychainAvailable, keychainDelete, keychainSet, resolveApiKey } from '../dataset/api-key.js';
import { exportFileName, exportPairs, pairSources, type ExportFormat } from '../dataset/export.js';
import { acceptAllPending, generatePairs, openJudge, type GenerateOptions, type GenerateSummary, type TeacherChoice } from '../dataset/generate.js';
import { readConversations } from '../dataset/conversation.js';
import { writeTrainingBundle, type Bundle, type BundleEngine } from '../dataset/training-bundle.js';
import { bundleChoice } from './bundle-choice.js';
import type { Teacher } from '../dataset/teacher.js';
import { DocTuneError, toWireError } from '../errors.js';
import type { JobSlots } from './job-slots.js';
import { addQaPairs, countByStatus, listQaPairs, pairsFromConversations, qaPairById, queryQaPairs, setQaStatus, sourceState, updateQaPair, type QaStatus } from '../store/qa-store.js';
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

  deleteKey(baseUrl: string): { deleted: boolean } {
    return { deleted: keychainDelete(baseUrl) };
  }

  /** The stored pairs, oldest first, as rows (the command line prints them whole). */
  async rows(f: { status?: QaStatus | undefined; documentId?: string | undefined } = {}): Promise<QaPairRow[]> {
    return queryQaPairs(await this.ws(), { ...(f.status ? { status: f.status } : {}), ...(f.documentId ? { documentId: f.documentId } : {}) });
  }

  /** Pairs named by id, or by the start of one (at least 4 characters, as `dataset list` shows them). */
  async pairIds(names: string[]): Promise<string[]> {
    const ids = ((await (await (await this.ws()).qaTable()).query().select(['id']).toArray()) as { id: string }[]).map((r) => r.id);
    const known = new Set(ids);
    return names.map((name) => {
      const want = name.trim().toLowerCase();
      if (known.has(want)) return want;
      const matches = want.length >= 4 ? ids.filter((id) => id.startsWith(want)) : [];
      if (matches.length === 1) return matches[0]!;
      if (matches.length > 1) throw new DocTuneError('BAD_ARGUMENT', `"${name}" is the start of ${matches.length} pairs' ids: give more of it`);
      throw new DocTuneError('NOT_FOUND', `no QA pair "${name}" (doctune dataset list shows the ids)`);
    });
  }

  async acceptPending(): Promise<{ accepted: number }> {
    return { accepted: await acceptAllPending(await this.ws()) };
  }

  /** Reviewed pairs from a file (Alpaca, ShareGPT or OpenAI-messages JSON/JSONL), added with one status. */
  async importFile(file: string, status: 'accepted' | 'pending'): Promise<{ added: number }> {
    const conversations = await readConversations(path.resolve(file));
    return { added: await addQaPairs(await this.ws(), pairsFromConversations(conversations, status)) };
  }

  /** The pairs an export takes: accepted and edited ones (or all), of one document or every one. */
  private async exported(status: 'accepted' | 'all', documentId?: string): Promise<QaPairRow[]> {
    const ws = await this.ws();
    const pairs = status === 'all' ? await listQaPairs(ws) : [...(await listQaPairs(ws, 'accepted')), ...(await listQaPairs(ws, 'edited'))];
    return documentId ? pairs.filter((p) => p.document_id === documentId) : pairs;
  }

  /**
   * Generation with a teacher named in the request (the command line's --teacher), in the same slot as the
   * app's: BUSY while the app's generation or a pipeline writes pairs. A rerun resumes where the last stopped.
   */
  async generateWith(teacher: TeacherChoice, o: Omit<GenerateOptions, 'teacher' | 'batch'> = {}): Promise<GenerateSummary> {
    const ws = await this.ws();
    return this.jobs.run('generate', (job) => generatePairs(ws, { ...o, teacher, signal: job.signal }), o.signal ? { signal: o.signal } : {});
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
    if (choice === 'extractive') throw new DocTuneError('BAD_ARGUMENT', 'the extractive teacher cannot grade answers: choose a local model or an API as the teacher');
    return openJudge(choice);
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

  /** The app's export: into the workspace's exports folder, under a dated name, with each pair's source. */
  async export(format: ExportFormat, status: 'accepted' | 'all'): Promise<ResultOf<'dataset.export'>> {
    const stem = `doctune-${format}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    const r = await this.exportTo({ format, out: exportFileName(path.join(await this.exportsDir(), stem), format), status, name: stem });
    return { path: r.path, fileName: path.basename(r.path), count: r.count };
  }

  /** Pairs written to a file for training elsewhere (and listed in a LLaMA-Factory dataset_info.json beside it). */
  async exportTo(o: { format: ExportFormat; out: string; status: 'accepted' | 'all'; documentId?: string | undefined; name?: string | undefined; sources?: boolean }): Promise<{ path: string; count: number }> {
    const pairs = await this.exported(o.status, o.documentId);
    const out = path.resolve(o.out);
    const file = await exportPairs(pairs, o.format, out, {
      name: o.name ?? path.basename(out).replace(/\.jsonl?$/i, ''), ...(o.sources !== false ? { sources: await pairSources(await this.ws(), pairs) } : {}),
    });
    return { path: file, count: pairs.length };
  }

  /**
   * A folder ready to train on a GPU cluster (LLaMA-Factory or Axolotl): the pairs, the dataset description,
   * LoRA configs and the commands, with a DocTune run's settings (or the defaults). A run's held-out pairs
   * are left out, so that evaluating on them stays fair.
   */
  async bundle(o: { engine: BundleEngine; out: string; status: 'accepted' | 'all'; documentId?: string | undefined; run?: string | undefined; model?: string | undefined; base?: string | undefined; template?: string | undefined }): Promise<{ bundle: Bundle; pairs: number; heldOutLeftOut: number; baseModel: string; templateNote: string | null }> {
    const { heldOut, templateNote, ...settings } = await bundleChoice(o);
    const pairs = await this.exported(o.status, o.documentId);
    const kept = pairs.filter((p) => !heldOut.has(p.question));
    if (!kept.length) throw new DocTuneError('BAD_ARGUMENT', 'no accepted QA pairs to bundle (review some first, or --status all)');
    const bundle = await writeTrainingBundle({ engine: o.engine, outDir: o.out, pairs: kept, ...settings });
    return { bundle, pairs: kept.length, heldOutLeftOut: pairs.length - kept.length, baseModel: settings.baseModel, templateNote: o.engine === 'llama-factory' ? templateNote : null };
  }

  async close(): Promise<void> {
    await this.jobs.close(['generate']);
  }
}

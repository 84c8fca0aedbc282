import fs from 'node:fs/promises';
import path from 'node:path';
import './lance-threads.js';
import * as lancedb from '@lancedb/lancedb';
import { DocTuneError } from '../errors.js';
import {
  CHUNKS_TABLE,
  QA_TABLE,
  qaSchema,
  chunksSchema,
  DOCUMENTS_TABLE,
  documentsSchema,
  SETTINGS_TABLE,
  settingsSchema,
  sqlString,
  WORKSPACE_VERSION,
  CHUNK_COLUMNS,
  type ChunkRow,
  type DocumentRow,
} from './schema.js';
import { z } from 'zod';
import { ChatSettings, DEFAULT_CHAT_SETTINGS, DEFAULT_TEACHER, OcrSetting, TeacherSettings } from '../../shared/contract.js';
import { log, logged } from '../log.js';

export interface WorkspaceSettings {
  version: number;
  embeddingModel: string | null;
  embeddingDim: number | null;
  chunkTokens: number;
  chunkOverlap: number;
  /** Which teacher writes QA pairs (no secrets: API keys live in the OS keychain or the environment). */
  teacher: StoredTeacherSettings | null;
  /** The chat window's model, adapter and sampling. */
  chat: StoredChatSettings | null;
  /** OCR for scanned pages and images: its language, detected per page (auto), or off. */
  ocr: OcrSetting;
  /** Folders kept in step with the workspace while the app runs (absolute paths). */
  watchedFolders: string[];
}

export type StoredChatSettings = ChatSettings;
export type StoredTeacherSettings = TeacherSettings;

const DEFAULT_SETTINGS: WorkspaceSettings = {
  version: WORKSPACE_VERSION,
  embeddingModel: null,
  embeddingDim: null,
  chunkTokens: 400,
  chunkOverlap: 50,
  teacher: null,
  chat: null,
  ocr: 'auto',
  watchedFolders: [],
};

/**
 * A workspace folder: one LanceDB database with the documents, chunks and settings tables. The documents
 * table is the commit log: a document's chunks are written first, then its row; chunks whose document row
 * never landed (a crash in between) are invisible to readers and removed on the next open.
 */
export class Workspace {
  private constructor(
    readonly dir: string,
    private readonly db: lancedb.Connection,
    private documents: lancedb.Table,
    private chunks: lancedb.Table,
    private readonly settingsTable: lancedb.Table,
    private settingsCache: WorkspaceSettings,
  ) {}

  /** Whether `dir` holds a workspace (its settings or documents table), without creating anything. */
  static async exists(dir: string): Promise<boolean> {
    const abs = path.resolve(dir);
    for (const table of [SETTINGS_TABLE, DOCUMENTS_TABLE]) {
      if (await fs.stat(path.join(abs, `${table}.lance`)).then((s) => s.isDirectory(), () => false)) return true;
    }
    return false;
  }

  /** Open the workspace in `dir`, creating it unless `create` is false (then a folder without one is refused). */
  static async open(dir: string, options: { create?: boolean } = {}): Promise<Workspace> {
    const abs = path.resolve(dir);
    if (options.create === false && !(await Workspace.exists(abs))) {
      throw new DocTuneError('WORKSPACE', `no workspace at ${abs}`, { path: abs });
    }
    try {
      await fs.mkdir(abs, { recursive: true });
      const stat = await fs.stat(abs);
      if (!stat.isDirectory()) throw new Error('not a folder');
    } catch (err) {
      throw new DocTuneError('WORKSPACE', `cannot use workspace folder: ${(err as Error).message}`, { path: abs, cause: err });
    }
    const db = await lancedb.connect(abs);
    const names = new Set(await db.tableNames());
    const settingsTable = names.has(SETTINGS_TABLE)
      ? await db.openTable(SETTINGS_TABLE)
      : await db.createEmptyTable(SETTINGS_TABLE, settingsSchema, { existOk: true });
    const settings = await readSettings(settingsTable);
    if (settings.version > WORKSPACE_VERSION) {
      throw new DocTuneError('WORKSPACE', `workspace was written by a newer DocTune (format ${settings.version})`, { path: abs });
    }
    const documents = names.has(DOCUMENTS_TABLE)
      ? await db.openTable(DOCUMENTS_TABLE)
      : await db.createEmptyTable(DOCUMENTS_TABLE, documentsSchema, { existOk: true });
    const chunks = names.has(CHUNKS_TABLE)
      ? await db.openTable(CHUNKS_TABLE)
      : await db.createEmptyTable(CHUNKS_TABLE, chunksSchema(settings.embeddingDim), { existOk: true });
    if (names.has(CHUNKS_TABLE)) {
      // A table from an older version gets the newer (nullable) columns.
      const have = new Set((await chunks.schema()).fields.map((f) => f.name));
      const missing = chunksSchema(null).fields.filter((f) => !have.has(f.name));
      if (missing.length) await chunks.addColumns(missing);
    }
    const ws = new Workspace(abs, db, documents, chunks, settingsTable, settings);
    if (!names.has(SETTINGS_TABLE)) await ws.updateSettings({});
    await ws.removeOrphanChunks();
    return ws;
  }

  get settings(): WorkspaceSettings {
    return { ...this.settingsCache };
  }

  async updateSettings(patch: Partial<WorkspaceSettings>): Promise<void> {
    const next = { ...this.settingsCache, ...patch, version: WORKSPACE_VERSION };
    const rows = Object.entries(next).map(([key, value]) => ({ key, value: JSON.stringify(value) }));
    await this.settingsTable.mergeInsert('key').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(rows);
    this.settingsCache = next;
  }

  get hasVectors(): boolean {
    return this.settingsCache.embeddingDim !== null;
  }

  chunkTable(): lancedb.Table {
    return this.chunks;
  }

  private qaMigrated = false;

  /** The QA-pair table, created on first use; a table from an older version gets the newer columns. */
  async qaTable(): Promise<lancedb.Table> {
    const names = await this.db.tableNames();
    if (!names.includes(QA_TABLE)) return this.db.createEmptyTable(QA_TABLE, qaSchema, { existOk: true });
    const table = await this.db.openTable(QA_TABLE);
    if (!this.qaMigrated) {
      const have = new Set((await table.schema()).fields.map((f) => f.name));
      const missing = qaSchema.fields.filter((f) => !have.has(f.name));
      if (missing.length) await table.addColumns(missing);
      this.qaMigrated = true;
    }
    return table;
  }

  async listDocuments(): Promise<DocumentRow[]> {
    const rows = (await this.documents.query().toArray()) as DocumentRow[];
    return rows.map(plainDocument).sort((a, b) => a.path.localeCompare(b.path));
  }

  async documentByPath(p: string): Promise<DocumentRow | null> {
    const rows = await this.documents.query().where(`path = ${sqlString(p)}`).limit(1).toArray();
    return rows[0] ? plainDocument(rows[0] as DocumentRow) : null;
  }

  async documentBySha(sha: string): Promise<DocumentRow | null> {
    const rows = await this.documents.query().where(`sha256 = ${sqlString(sha)} AND status = 'ready'`).limit(1).toArray();
    return rows[0] ? plainDocument(rows[0] as DocumentRow) : null;
  }

  /** Ids of documents whose chunks are visible (committed, ready). */
  async committedDocumentIds(): Promise<Map<string, DocumentRow>> {
    const docs = await this.listDocuments();
    return new Map(docs.filter((d) => d.status === 'ready').map((d) => [d.id, d]));
  }

  /**
   * Store a document with all its chunks, atomically as far as readers can tell: chunks first, then the
   * document row (one LanceDB commit, replacing any previous row for the same path), then the old
   * version's chunks are removed.
   */
  async commitDocument(doc: DocumentRow, chunks: ChunkRow[], known?: { previous: DocumentRow | null }): Promise<void> {
    const previous = known ? known.previous : await this.documentByPath(doc.path);
    if (chunks.length) {
      if (this.hasVectors && chunks.some((c) => !c.vector)) {
        throw new DocTuneError('INTERNAL', 'workspace has an embedding model but chunks came without vectors', { path: doc.path });
      }
      await this.chunks.add(chunks as unknown as Record<string, unknown>[]);
    }
    try {
      await this.documents.mergeInsert('path').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute([doc as unknown as Record<string, unknown>]);
    } catch (err) {
      // The document row is the commit point; without it the new chunks must go.
      await this.chunks.delete(`document_id = ${sqlString(doc.id)}`).catch(logged('removing the passages of a document whose import failed', { documentId: doc.id }));
      throw err;
    }
    if (previous && previous.id !== doc.id) {
      await this.relinkQaPairs([{ from: previous.id, to: doc.id }]);
      await this.chunks.delete(`document_id = ${sqlString(previous.id)}`);
    }
  }

  /**
   * Commit many documents at once (an import's batch): all their chunks in one write, then all their rows in
   * one (the commit point, as for one document), then the replaced versions' chunks removed. Failed files in
   * the batch are recorded with the rows, unless a good version of them is stored. Two table versions per
   * batch instead of two per file keeps a folder of thousands of files fast to import and to read.
   */
  async commitBatch(items: { doc: DocumentRow; chunks: ChunkRow[]; previous: DocumentRow | null }[], failures: DocumentRow[] = []): Promise<void> {
    const chunks = items.flatMap((i) => i.chunks);
    if (this.hasVectors && chunks.some((c) => !c.vector)) {
      throw new DocTuneError('INTERNAL', 'workspace has an embedding model but chunks came without vectors', { path: items.find((i) => i.chunks.some((c) => !c.vector))?.doc.path });
    }
    if (chunks.length) await this.chunks.add(chunks as unknown as Record<string, unknown>[]);
    const failed = failures.length ? await this.documentsByPath(failures.map((f) => f.path)) : new Map<string, DocumentRow>();
    const rows = [...items.map((i) => i.doc), ...failures.filter((f) => failed.get(f.path)?.status !== 'ready')];
    if (rows.length) {
      try {
        await this.documents.mergeInsert('path').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(rows as unknown as Record<string, unknown>[]);
      } catch (err) {
        // The document rows are the commit point; without them the new chunks must go.
        if (items.length) await this.chunks.delete(`document_id IN (${items.map((i) => sqlString(i.doc.id)).join(', ')})`).catch(logged('removing the passages of documents whose import failed', { documents: items.length }));
        throw err;
      }
    }
    const replaced = items.filter((i) => i.previous && i.previous.id !== i.doc.id).map((i) => ({ from: i.previous!.id, to: i.doc.id }));
    if (replaced.length) {
      await this.relinkQaPairs(replaced);
      await this.chunks.delete(`document_id IN (${replaced.map((r) => sqlString(r.from)).join(', ')})`);
    }
  }

  /**
   * A document imported again (its file changed): its QA pairs move to the new version. A pair follows its
   * passage when the passage's text is still there (same content hash); otherwise it keeps the old passage's
   * id, which no longer exists, and so reads as resting on a passage that changed (never silently current).
   */
  private async relinkQaPairs(replaced: { from: string; to: string }[]): Promise<void> {
    if (!(await this.db.tableNames()).includes(QA_TABLE)) return;
    const qa = await this.qaTable();
    const fromIds = replaced.map((r) => sqlString(r.from)).join(', ');
    const pairs = await qa.query().where(`document_id IN (${fromIds})`).select(['id', 'chunk_id', 'document_id']).toArray();
    if (!pairs.length) return;
    const hashOf = new Map<string, string>();
    for (const c of await this.chunks.query().where(`document_id IN (${fromIds})`).select(['id', 'content_hash']).toArray()) {
      hashOf.set(c.id as string, c.content_hash as string);
    }
    const current = new Map<string, string>();
    const toIds = [...new Set(replaced.map((r) => r.to))].map(sqlString).join(', ');
    for (const c of await this.chunks.query().where(`document_id IN (${toIds})`).select(['id', 'content_hash', 'document_id']).toArray()) {
      const key = `${c.document_id as string}|${c.content_hash as string}`;
      if (!current.has(key)) current.set(key, c.id as string);
    }
    const to = new Map(replaced.map((r) => [r.from, r.to]));
    const rows = pairs.map((p) => {
      const documentId = to.get(p.document_id as string)!;
      const hash = p.chunk_id ? hashOf.get(p.chunk_id as string) : undefined;
      const chunkId = (hash && current.get(`${documentId}|${hash}`)) ?? (p.chunk_id as string | null);
      return { id: p.id as string, chunk_id: chunkId, document_id: documentId };
    });
    // Only these two columns are written, in one commit: a review made meanwhile (wording, status) stays.
    await qa.mergeInsert('id').whenMatchedUpdateAll().execute(rows);
  }

  /**
   * Passages of a document still being imported (a large file streamed in batches): invisible to readers
   * until its row is committed, and removed on the next open if that never happens.
   */
  async addChunks(chunks: ChunkRow[]): Promise<void> {
    if (!chunks.length) return;
    if (this.hasVectors && chunks.some((c) => !c.vector)) {
      throw new DocTuneError('INTERNAL', 'workspace has an embedding model but chunks came without vectors');
    }
    await this.chunks.add(chunks as unknown as Record<string, unknown>[]);
  }

  /** Drop the passages of a document whose import did not complete. */
  async discardChunks(documentId: string): Promise<void> {
    await this.chunks.delete(`document_id = ${sqlString(documentId)}`);
  }

  /** Stored rows for these paths (one query). */
  async documentsByPath(paths: string[]): Promise<Map<string, DocumentRow>> {
    const out = new Map<string, DocumentRow>();
    for (let i = 0; i < paths.length; i += 500) {
      const part = paths.slice(i, i + 500);
      const rows = await this.documents.query().where(`path IN (${part.map(sqlString).join(', ')})`).toArray();
      for (const r of rows) out.set(r.path as string, plainDocument(r as DocumentRow));
    }
    return out;
  }

  /**
   * After an import: merge the small files each write left into large ones and drop table versions older
   * than a minute (a reader still on a recent one is not disturbed).
   */
  async compact(): Promise<void> {
    const cleanupOlderThan = new Date(Date.now() - 60_000);
    await this.documents.optimize({ cleanupOlderThan });
    await this.chunks.optimize({ cleanupOlderThan });
  }

  /**
   * Documents whose files are gone (deleted from a watched folder): they leave search and generation, but
   * their rows and chunks stay, so the QA pairs written from them still show their passages and are marked
   * as resting on a removed document instead of silently losing their source.
   */
  async markRemoved(ids: readonly string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += 500) {
      const part = ids.slice(i, i + 500).map(sqlString);
      await this.documents.update({ where: `id IN (${part.join(', ')})`, values: { status: 'removed' } });
    }
  }

  /** Forget failed files' rows (a failure whose file is gone has nothing to keep). */
  async forgetDocuments(ids: readonly string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += 500) {
      const part = ids.slice(i, i + 500).map(sqlString);
      await this.documents.delete(`id IN (${part.join(', ')})`);
    }
  }

  /**
   * A file moved or renamed (same content at a new path), or a removed file back: the document keeps its
   * id, chunks and QA pairs under the new path, and is ready again.
   */
  async moveDocument(id: string, to: string): Promise<void> {
    const [row] = await this.documents.query().where(`id = ${sqlString(id)}`).limit(1).toArray();
    if (!row) return;
    const doc = plainDocument(row as DocumentRow);
    // A title that was only the file's name follows the file.
    const title = doc.title === path.basename(doc.path) ? path.basename(to) : doc.title;
    const stale = doc.path === to ? null : await this.documentByPath(to);
    // A removed document already at that path keeps its row and passages when QA pairs rest on them,
    // under a path no file has (paths are unique); otherwise it goes.
    const kept = stale && stale.status === 'removed' && (await this.db.tableNames()).includes(QA_TABLE)
      && (await (await this.qaTable()).countRows(`document_id = ${sqlString(stale.id)}`)) > 0;
    if (stale && kept) await this.documents.update({ where: `id = ${sqlString(stale.id)}`, values: { path: `${to} (removed ${stale.imported_at})` } });
    else if (stale) await this.documents.delete(`id = ${sqlString(stale.id)}`);
    await this.documents.update({ where: `id = ${sqlString(id)}`, values: { path: to, title, status: 'ready' } });
    if (stale && !kept) await this.chunks.delete(`document_id = ${sqlString(stale.id)}`);
  }

  /** Remember a file that failed, unless a good version of it is already stored (which stays untouched). */
  async recordFailure(doc: DocumentRow): Promise<void> {
    const previous = await this.documentByPath(doc.path);
    if (previous?.status === 'ready') return;
    await this.documents.mergeInsert('path').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute([doc as unknown as Record<string, unknown>]);
  }

  async removeDocument(id: string): Promise<boolean> {
    const rows = await this.documents.query().where(`id = ${sqlString(id)}`).limit(1).toArray();
    if (!rows.length) return false;
    await this.documents.delete(`id = ${sqlString(id)}`);
    await this.chunks.delete(`document_id = ${sqlString(id)}`);
    return true;
  }

  async chunksOf(documentId: string): Promise<ChunkRow[]> {
    const rows = await this.chunks
      .query()
      .where(`document_id = ${sqlString(documentId)}`)
      .select(CHUNK_COLUMNS)
      .toArray();
    return rows.map(plainChunk).sort((a, b) => a.ordinal - b.ordinal);
  }

  async chunkById(id: string): Promise<ChunkRow | null> {
    const rows = await this.chunks
      .query()
      .where(`id = ${sqlString(id)}`)
      .select(CHUNK_COLUMNS)
      .limit(1)
      .toArray();
    return rows[0] ? plainChunk(rows[0]) : null;
  }

  async counts(): Promise<{ documents: number; chunks: number }> {
    const ids = await this.committedDocumentIds();
    let chunks = 0;
    for (const d of ids.values()) chunks += d.chunks;
    return { documents: ids.size, chunks };
  }

  /** Create or refresh the full-text index after writes (new rows are searchable either way). */
  async refreshIndexes(): Promise<void> {
    if ((await this.chunks.countRows()) === 0) return;
    const indices = await this.chunks.listIndices();
    if (!indices.some((i) => i.columns.includes('fts_text'))) {
      await this.chunks.createIndex('fts_text', {
        config: lancedb.Index.fts({ baseTokenizer: 'simple', lowercase: true, stem: true, removeStopWords: false, asciiFolding: true }),
      });
    } else {
      await this.chunks.optimize();
    }
  }

  /** Replace the chunks table with one that carries vectors (after choosing or changing the embedding model). */
  async rewriteChunks(rows: ChunkRow[], vectorDim: number | null): Promise<void> {
    this.chunks = await this.db.createTable(CHUNKS_TABLE, rows as unknown as Record<string, unknown>[], {
      mode: 'overwrite',
      schema: chunksSchema(vectorDim),
    });
    if (rows.length === 0) this.chunks = await this.db.openTable(CHUNKS_TABLE);
    await this.refreshIndexes();
  }

  /** Every stored passage worth keeping: those of ready documents and of removed ones (for their QA pairs). */
  async keptChunks(): Promise<ChunkRow[]> {
    const ids = await this.keptDocumentIds();
    const rows = await this.chunks.query().toArray();
    return rows.map(plainChunk).filter((c) => ids.has(c.document_id));
  }

  async allChunks(): Promise<ChunkRow[]> {
    const ids = await this.committedDocumentIds();
    const rows = await this.chunks.query().toArray();
    return rows.map(plainChunk).filter((c) => ids.has(c.document_id));
  }

  /** Documents whose passages are kept: ready ones, and removed ones (for their QA pairs). */
  private async keptDocumentIds(): Promise<Set<string>> {
    return new Set((await this.listDocuments()).filter((d) => d.status !== 'error').map((d) => d.id));
  }

  private async removeOrphanChunks(): Promise<void> {
    const ids = await this.keptDocumentIds();
    const rows = await this.chunks.query().select(['document_id']).toArray();
    const orphans = new Set<string>();
    for (const r of rows) if (!ids.has(r.document_id as string)) orphans.add(r.document_id as string);
    for (const id of orphans) await this.chunks.delete(`document_id = ${sqlString(id)}`);
  }

  close(): void {
    this.db.close();
  }
}

/**
 * Each setting's schema, one per row of the settings table. Objects drop keys they do not know (older
 * workspaces stored the name of an environment variable holding the API key: never used again).
 */
const SETTING_SCHEMAS: { [K in keyof WorkspaceSettings]: z.ZodType<WorkspaceSettings[K]> } = {
  version: z.number().int().nonnegative(),
  embeddingModel: z.string().min(1).nullable(),
  embeddingDim: z.number().int().positive().nullable(),
  chunkTokens: z.number().int().min(32).max(8192),
  chunkOverlap: z.number().int().nonnegative(),
  // Settings saved by an older version may lack fields added since: read over the defaults.
  teacher: TeacherSettings.partial().nullable().transform((t) => (t ? TeacherSettings.parse({ ...DEFAULT_TEACHER, ...t }) : null)),
  chat: ChatSettings.partial().nullable().transform((c) => (c ? ChatSettings.parse({ ...DEFAULT_CHAT_SETTINGS, ...c }) : null)),
  ocr: OcrSetting,
  watchedFolders: z.array(z.string().min(1)),
};

function isSettingKey(key: string): key is keyof WorkspaceSettings {
  return Object.prototype.hasOwnProperty.call(SETTING_SCHEMAS, key);
}

/** The settings, each parsed by its schema: a damaged or invalid value falls back to its default, and is logged. */
async function readSettings(table: lancedb.Table): Promise<WorkspaceSettings> {
  const rows = await table.query().toArray();
  const settings: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  for (const r of rows) {
    const key = String(r.key);
    if (!isSettingKey(key)) {
      log.info('ignored a workspace setting this version does not know', { key });
      continue;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(r.value as string);
    } catch (err) {
      log.warn('a workspace setting is damaged: its default is used', { key, err });
      continue;
    }
    const parsed = SETTING_SCHEMAS[key].safeParse(raw);
    if (parsed.success) settings[key] = parsed.data;
    else log.warn('a workspace setting is invalid: its default is used', { key, issues: parsed.error.issues.map((i) => `${i.path.join('.') || key}: ${i.message}`) });
  }
  return settings as unknown as WorkspaceSettings;
}

function plainDocument(r: DocumentRow): DocumentRow {
  return {
    id: r.id,
    path: r.path,
    title: r.title,
    sha256: r.sha256,
    format: r.format,
    language: r.language,
    pages: r.pages ?? null,
    chunks: Number(r.chunks),
    status: r.status,
    error: r.error ?? null,
    size: Number(r.size),
    imported_at: r.imported_at,
  };
}

export function plainChunk(r: Record<string, unknown>): ChunkRow {
  const heading = r.heading as { toArray?: () => string[] } | string[] | null;
  return {
    id: r.id as string,
    document_id: r.document_id as string,
    ordinal: Number(r.ordinal),
    text: r.text as string,
    fts_text: (r.fts_text as string | undefined) ?? '',
    page: r.page === null || r.page === undefined ? null : Number(r.page),
    heading: heading ? (Array.isArray(heading) ? heading : [...(heading.toArray?.() ?? [])]) : [],
    language: r.language as string,
    tokens: Number(r.tokens),
    content_hash: r.content_hash as string,
    ocr: typeof r.ocr === 'boolean' ? r.ocr : null,
  };
}

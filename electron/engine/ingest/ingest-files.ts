import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { FileStage, IngestSummary } from '../../shared/contract.js';
import { DocTuneError, toWireError } from '../errors.js';
import { sha256File } from '../hash-file.js';
import { Serial } from '../serial.js';
import type { Embedder } from '../models/embedder.js';
import type { ChunkRow, DocumentRow } from '../store/schema.js';
import type { Workspace } from '../store/workspace.js';
import { collectFiles } from './collect-files.js';
import { formatFromExtension } from './detect-format.js';
import type { DocumentParser } from './parse-pool.js';
import type { ParsedFile } from './parse-protocol.js';
import { segmentForIndex } from '../text/text-units.js';
import { logged } from '../log.js';

export interface FileProgress {
  path: string;
  stage: FileStage;
  fraction: number;
  reason?: string;
  chunks?: number;
  ocr?: { done: number; total: number };
  filesDone: number;
  filesTotal: number;
}

export interface IngestOptions {
  parser: DocumentParser;
  embedder?: Embedder | null;
  signal?: AbortSignal;
  onProgress?: (p: FileProgress) => void;
}


/**
 * Import files and folders into the workspace. Each file is handled on its own: a failure is recorded with
 * its reason and the batch goes on; an unchanged file is left alone; a changed file's new chunks replace
 * the old ones in one commit.
 */
export async function ingestPaths(ws: Workspace, inputs: string[], options: IngestOptions): Promise<IngestSummary> {
  const { files, skipped, errors } = await collectFiles(inputs);
  const summary: IngestSummary = { documents: 0, chunks: 0, unchanged: 0, skipped, errors };
  const total = files.length;
  let done = 0;
  const report = (p: Omit<FileProgress, 'filesDone' | 'filesTotal'>): void =>
    options.onProgress?.({ ...p, filesDone: done, filesTotal: total });

  for (const f of files) report({ path: f, stage: 'queued', fraction: 0 });
  for (const s of skipped) options.onProgress?.({ path: s.path, stage: 'skipped', fraction: 1, reason: s.reason, filesDone: 0, filesTotal: total });
  for (const e of errors) options.onProgress?.({ path: e.path, stage: 'error', fraction: 1, reason: e.reason, filesDone: 0, filesTotal: total });

  const settings = ws.settings;
  const chunking = { targetTokens: settings.chunkTokens, overlapTokens: settings.chunkOverlap };
  let wrote = false;
  // What is stored, read once: a query per file costs more than the file as a folder grows to thousands.
  const stored = new Map((await ws.listDocuments()).map((d) => [d.path, d]));
  const storedShas = new Map([...stored.values()].filter((d) => d.status === 'ready').map((d) => [d.sha256, d.path]));
  const committedShas = new Map<string, string>();

  // Writes to the tables go one at a time: a large file's passages are stored while it is read (see below),
  // between the batches' commits.
  const writes = new Serial();

  // Files are parsed ahead on the parser's threads while earlier ones are committed, in order, here.
  type Prepared =
    | { kind: 'unchanged'; chunks: number }
    | { kind: 'parsed'; id: string; sha: string; size: number; parsed: ParsedFile; previous: DocumentRow | null };
  const prepare = async (file: string): Promise<Prepared> => {
    const stat = await fs.stat(file);
    const sha = await sha256File(file);
    shaOf.set(file, sha);
    const existing = stored.get(file) ?? null;
    if (existing && existing.sha256 === sha && existing.status === 'ready') return { kind: 'unchanged', chunks: existing.chunks };
    report({ path: file, stage: 'parsing', fraction: 0.1 });
    const id = randomUUID();
    let streamed = 0;
    // A batch may still be on its way to the table when the parse is stopped: waited for before cleaning up.
    let inflight: Promise<unknown> = Promise.resolve();
    let wrote = false;
    try {
      const parsed = await options.parser.parse(file, chunking, {
        ocr: settings.ocr,
        ...(options.signal ? { signal: options.signal } : {}),
        onOcrPage: (done, total) => report({ path: file, stage: 'parsing', fraction: 0.1 + 0.5 * (done / total), ocr: { done, total } }),
        // A large text file arrives in batches: each is stored at once, so the file never sits whole in memory.
        onChunks: (drafts) => {
          const run = (async () => {
            const rows = await chunkRows(id, drafts, streamed, options);
            wrote = true;
            await writes.run(() => ws.addChunks(rows));
            streamed += rows.length;
            report({ path: file, stage: 'parsing', fraction: 0.3, chunks: streamed });
          })();
          inflight = run.catch(() => undefined);
          return run;
        },
      });
      if (parsed.chunks.length === 0 && !parsed.streamed) throw new DocTuneError('EMPTY_DOCUMENT', 'no text content found', { path: file });
      return { kind: 'parsed', id, sha, size: stat.size, parsed, previous: existing };
    } catch (err) {
      await inflight;
      if (wrote) await writes.run(() => ws.discardChunks(id)).catch(logged('discarding the passages of a failed import', { documentId: id }));
      throw err;
    }
  };
  // Hashes computed while preparing, so recording a failure does not read the file again.
  const shaOf = new Map<string, string>();
  const lookahead = Math.max(1, options.parser.threads);
  /** Documents handed to a batch (committed, or rolled back by the commit itself). */
  const batched = new Set<string>();
  const pending: Promise<Prepared>[] = [];
  const start = (i: number): void => {
    const file = files[i];
    if (file !== undefined) pending[i] = prepare(file);
    // Failures are handled when the file's turn comes; keep them from being reported as unhandled meanwhile.
    pending[i]?.catch(() => undefined);
  };
  for (let i = 0; i < lookahead; i++) start(i);

  // Documents are committed in batches (a few table versions a second at most, however small the files);
  // a file is reported done once its batch is stored.
  let batch: { doc: DocumentRow; chunks: ChunkRow[]; previous: DocumentRow | null }[] = [];
  let failures: DocumentRow[] = [];
  let batchRows = 0;
  let lastFlush = Date.now();
  const flush = async (): Promise<void> => {
    if (!batch.length && !failures.length) return;
    const items = batch;
    const failed = failures;
    batch = [];
    failures = [];
    batchRows = 0;
    await writes.run(() => ws.commitBatch(items, failed));
    lastFlush = Date.now();
    for (const { doc, chunks } of items) {
      stored.set(doc.path, doc);
      wrote = true;
      summary.documents++;
      summary.chunks += chunks.length;
      done++;
      report({ path: doc.path, stage: 'done', fraction: 1, chunks: chunks.length });
    }
    if (failed.length) wrote = true;
  };
  const due = (): boolean => batch.length + failures.length >= BATCH_FILES || batchRows >= BATCH_ROWS || Date.now() - lastFlush >= BATCH_MS;

  try {
    for (let i = 0; i < files.length; i++) {
      const file = files[i]!;
      if (options.signal?.aborted) throw new DocTuneError('CANCELLED', 'import cancelled');
      try {
        const prepared = await pending[i]!;
        start(i + lookahead);
        if (prepared.kind === 'unchanged') {
          summary.unchanged++;
          done++;
          report({ path: file, stage: 'unchanged', fraction: 1, chunks: prepared.chunks });
          continue;
        }
        const twinPath = committedShas.get(prepared.sha) ?? storedShas.get(prepared.sha);
        if (twinPath && twinPath !== file) {
          if (prepared.parsed.streamed) await writes.run(() => ws.discardChunks(prepared.id));
          const reason = `same content as ${twinPath}, already imported`;
          summary.skipped.push({ path: file, reason });
          done++;
          report({ path: file, stage: 'skipped', fraction: 1, reason });
          continue;
        }
        report({ path: file, stage: 'indexing', fraction: 0.6 });
        const streamed = prepared.parsed.streamed ?? 0;
        const rows = await chunkRows(prepared.id, prepared.parsed.chunks, streamed, options);
        const doc: DocumentRow = {
          id: prepared.id,
          path: file,
          title: prepared.parsed.document.title,
          sha256: prepared.sha,
          format: prepared.parsed.document.format,
          language: prepared.parsed.document.language,
          pages: prepared.parsed.document.pages,
          chunks: streamed + rows.length,
          status: 'ready',
          error: null,
          size: prepared.size,
          imported_at: new Date().toISOString(),
        };
        batch.push({ doc, chunks: rows, previous: prepared.previous });
        batched.add(doc.id);
        batchRows += rows.length;
        committedShas.set(prepared.sha, file);
      } catch (err) {
        start(i + lookahead);
        if (err instanceof DocTuneError && err.code === 'CANCELLED') throw err;
        const wire = toWireError(err);
        summary.errors.push({ path: file, reason: wire.message });
        done++;
        report({ path: file, stage: 'error', fraction: 1, reason: wire.message });
        const failure = await failureRow(file, wire.message, shaOf.get(file)).catch(() => null);
        if (failure) failures.push(failure);
      }
      if (due()) await flush();
    }
  } finally {
    // Files parsed before a cancel are kept: their batch is stored either way.
    await flush();
    // Files read but never added to a batch (read ahead before a cancel or a failed commit, or stopped
    // half-way through the loop): passages they streamed go.
    await Promise.all(pending.map((p) => p?.then(
      (prepared) => (prepared.kind === 'parsed' && prepared.parsed.streamed && !batched.has(prepared.id) ? writes.run(() => ws.discardChunks(prepared.id)) : undefined),
      () => undefined,
    )));
    await writes.idle();
    if (wrote) {
      await ws.refreshIndexes();
      await ws.compact();
    }
  }
  return summary;
}

/** Documents per commit, rows per commit, and the longest a parsed file waits to be stored. */
const BATCH_FILES = 500;
const BATCH_ROWS = 20_000;
const BATCH_MS = 2000;

/** Rows for a document's chunks (from `first` on: a streamed file's batches continue the numbering). */
async function chunkRows(id: string, drafts: ParsedFile['chunks'], first: number, options: IngestOptions): Promise<ChunkRow[]> {
  const rows: ChunkRow[] = [];
  for (const c of drafts) {
    // The worker numbers each streamed batch's chunks on from the last; checked, since ids rest on it.
    if (c.ordinal !== first + rows.length) throw new DocTuneError('INTERNAL', `chunk ${c.ordinal} arrived out of order`);
    const row: ChunkRow = {
      id: `${id}:${c.ordinal}`,
      document_id: id,
      ordinal: c.ordinal,
      text: c.text,
      fts_text: segmentForIndex(c.text),
      page: c.page,
      heading: c.heading,
      language: c.language,
      tokens: c.tokens,
      ocr: c.ocr,
      content_hash: createHash('sha256').update(c.text).digest('hex').slice(0, 32),
    };
    if (options.embedder) {
      row.vector = await options.embedder.embed(c.heading.length ? `${c.heading.join(' > ')}\n${c.text}` : c.text);
      if (options.signal?.aborted) throw new DocTuneError('CANCELLED', 'import cancelled');
    }
    rows.push(row);
  }
  return rows;
}

async function failureRow(file: string, reason: string, knownSha?: string): Promise<DocumentRow> {
  const stat = await fs.stat(file).catch(() => null);
  const sha = knownSha ?? (stat ? await sha256File(file).catch(() => '') : '');
  return {
    id: randomUUID(),
    path: file,
    title: path.basename(file),
    sha256: sha,
    format: formatFromExtension(file) ?? 'unknown',
    language: 'und',
    pages: null,
    chunks: 0,
    status: 'error',
    error: reason,
    size: stat?.size ?? 0,
    imported_at: new Date().toISOString(),
  };
}

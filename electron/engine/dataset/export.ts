import fs from 'node:fs/promises';
import path from 'node:path';
import { DocTuneError } from '../errors.js';
import type { QaPairRow } from '../store/schema.js';
import { writeFileAtomic } from '../atomic-write.js';
import { plainChunk, type Workspace } from '../store/workspace.js';

import type { ExportFormat } from '../../shared/pipeline-schemas.js';
export { EXPORT_FORMATS, type ExportFormat } from '../../shared/pipeline-schemas.js';

/** Where a pair came from; every field null (and no heading) for pairs imported from a file. */
export interface PairSource {
  /** The document's title and file name. */
  document: string | null;
  file: string | null;
  page: number | null;
  heading: string[];
}

export interface ExportOptions {
  /** The set's entry in dataset_info.json (default: doctune). */
  name?: string;
  /** Each pair's source by pair id (pairSources): every item then carries it as "source". */
  sources?: Map<string, PairSource>;
}

const NO_SOURCE: PairSource = { document: null, file: null, page: null, heading: [] };

/** The file a format is written to: JSON Lines in .jsonl, JSON arrays in .json, whatever extension was asked for. */
export function exportFileName(file: string, format: ExportFormat): string {
  const ext = format === 'messages' ? '.jsonl' : '.json';
  const abs = path.resolve(file);
  return /\.jsonl?$/i.test(abs) ? abs.replace(/\.jsonl?$/i, ext) : `${abs}${ext}`;
}

/** The document (title, file name), page and heading path of each pair's passage. */
export async function pairSources(ws: Workspace, pairs: readonly QaPairRow[]): Promise<Map<string, PairSource>> {
  const docs = new Map((await ws.listDocuments()).map((d) => [d.id, d]));
  const wanted = new Set(pairs.map((p) => p.chunk_id).filter((id): id is string => Boolean(id)));
  const chunks = new Map<string, { page: number | null; heading: string[] }>();
  if (wanted.size) {
    for (const row of await ws.chunkTable().query().select(['id', 'document_id', 'page', 'heading']).toArray()) {
      if (!wanted.has(row.id as string)) continue;
      const c = plainChunk(row);
      chunks.set(c.id, { page: c.page, heading: c.heading });
    }
  }
  return new Map(pairs.map((p) => {
    const doc = p.document_id ? docs.get(p.document_id) : undefined;
    const chunk = p.chunk_id ? chunks.get(p.chunk_id) : undefined;
    return [p.id, { document: doc?.title ?? null, file: doc ? path.basename(doc.path) : null, page: chunk?.page ?? null, heading: chunk?.heading ?? [] }];
  }));
}

/** The dataset_info.json already in the folder (LLaMA-Factory's own data folder has one), or {} if none. */
async function readDatasetInfo(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  let value: unknown;
  let why = 'not an object';
  try {
    value = JSON.parse(text);
  } catch (err) {
    why = (err as Error).message;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new DocTuneError('PARSE_FAILED', `this dataset_info.json is not a JSON object (${why}): fix or move it and export again; nothing was written`, { path: file });
  }
  return value as Record<string, unknown>;
}

/**
 * Write pairs as Alpaca JSON, ShareGPT JSON or OpenAI-messages JSON Lines (the extension follows the format:
 * .json or .jsonl), each item with its source when given (an extra key, which LLaMA-Factory and DocTune's
 * own import ignore), and add the set's entry to the LLaMA-Factory dataset_info.json beside it, keeping the
 * entries already there. `doctune dataset import` reads all three back. Returns the file written.
 */
export async function exportPairs(pairs: QaPairRow[], format: ExportFormat, file: string, options: ExportOptions = {}): Promise<string> {
  const target = exportFileName(file, format);
  const dir = path.dirname(target);
  const infoFile = path.join(dir, 'dataset_info.json');
  const info = await readDatasetInfo(infoFile);
  const sourced = <T extends object>(p: QaPairRow, item: T): T | (T & { source: PairSource }) =>
    options.sources ? { ...item, source: options.sources.get(p.id) ?? NO_SOURCE } : item;
  let body: string;
  switch (format) {
    case 'alpaca':
      body = JSON.stringify(pairs.map((p) => sourced(p, { instruction: p.question, input: '', output: p.answer })), null, 2);
      break;
    case 'sharegpt':
      body = JSON.stringify(pairs.map((p) => sourced(p, { conversations: [{ from: 'human', value: p.question }, { from: 'gpt', value: p.answer }] })), null, 2);
      break;
    case 'messages':
      body = pairs.map((p) => JSON.stringify(sourced(p, { messages: [{ role: 'user', content: p.question }, { role: 'assistant', content: p.answer }] }))).join('\n') + (pairs.length ? '\n' : '');
      break;
  }
  await fs.mkdir(dir, { recursive: true });
  await writeFileAtomic(target, body);
  const name = path.basename(target);
  const entry =
    format === 'alpaca'
      ? { file_name: name, columns: { prompt: 'instruction', query: 'input', response: 'output' } }
      : format === 'sharegpt'
        ? { file_name: name, formatting: 'sharegpt', columns: { messages: 'conversations' } }
        : { file_name: name, formatting: 'sharegpt', columns: { messages: 'messages' }, tags: { role_tag: 'role', content_tag: 'content', user_tag: 'user', assistant_tag: 'assistant' } };
  await writeFileAtomic(infoFile, `${JSON.stringify({ ...info, [options.name || 'doctune']: entry }, null, 2)}\n`);
  return target;
}

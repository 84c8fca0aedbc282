import { randomUUID } from 'node:crypto';
import { detectLanguage } from '../text/detect-language.js';
import type { Conversation } from '../models/messages.js';
import type { SourceState } from '../../shared/contract.js';
import { sqlString, type DocumentRow, type QaPairRow } from './schema.js';
import type { Workspace } from './workspace.js';

export type QaStatus = QaPairRow['status'];

export type NewQaPair = Omit<QaPairRow, 'id' | 'created_at'> & { id?: string };

/** Add pairs in one commit. */
export async function addQaPairs(ws: Workspace, pairs: NewQaPair[]): Promise<number> {
  if (!pairs.length) return 0;
  // One millisecond apart, so that pairs keep the order they were made in (a passage's questions in order).
  const start = Date.now();
  const rows: QaPairRow[] = pairs.map((p, i) => {
    const at = new Date(start + i).toISOString();
    return { teacher: null, paraphrase_of: null, batch: null, ...p, id: p.id ?? randomUUID(), created_at: at, updated_at: at };
  });
  await (await ws.qaTable()).add(rows as unknown as Record<string, unknown>[]);
  return rows.length;
}

export async function listQaPairs(ws: Workspace, status?: QaStatus): Promise<QaPairRow[]> {
  return queryQaPairs(ws, status ? { status } : {});
}

/** A stored row with the columns older tables lack filled in. */
function plainQa(r: QaPairRow): QaPairRow {
  return {
    ...r, chunk_id: r.chunk_id ?? null, document_id: r.document_id ?? null, evidence: r.evidence ?? null,
    updated_at: r.updated_at ?? r.created_at, teacher: r.teacher ?? null, paraphrase_of: r.paraphrase_of ?? null, batch: r.batch ?? null,
  };
}

/** Pairs from a reviewed file (every user → assistant turn becomes one pair). */
export function pairsFromConversations(conversations: Conversation[], status: QaStatus): Omit<QaPairRow, 'id' | 'created_at'>[] {
  const out: Omit<QaPairRow, 'id' | 'created_at'>[] = [];
  for (const conv of conversations) {
    conv.forEach((m, i) => {
      const prev = conv[i - 1];
      if (m.role !== 'assistant' || prev?.role !== 'user') return;
      out.push({ question: prev.content, answer: m.content, chunk_id: null, document_id: null, evidence: null, language: detectLanguage(`${prev.content}\n${m.content}`), source: 'import', status });
    });
  }
  return out;
}

/**
 * Whether a pair's source is still there: `removed` when its document is marked removed (its file left a
 * watched folder, or the user removed it), `changed` when its passage is no longer in the workspace (the
 * document was imported again without it: a re-imported document's pairs keep the old passage's id, and
 * passage ids start with their document's; or, in workspaces older than this rule, the document id itself is
 * gone). Only `removed` pairs leave training. Pairs without a document (imported conversations) are current.
 */
export function sourceState(p: Pick<QaPairRow, 'document_id' | 'chunk_id'>, docs: ReadonlyMap<string, Pick<DocumentRow, 'status'>>): SourceState {
  if (!p.document_id) return 'current';
  const doc = docs.get(p.document_id);
  if (!doc) return 'changed';
  if (doc.status === 'removed') return 'removed';
  if (p.chunk_id && !p.chunk_id.startsWith(`${p.document_id}:`)) return 'changed';
  return 'current';
}

/**
 * Accepted (and edited) pairs as single-turn conversations: what `doctune train --workspace` learns from.
 * Pairs of removed documents are left out (the user's folder no longer holds their source) and counted, so
 * the run can say so; they stay in the workspace, marked, and come back if the file does.
 */
export async function acceptedConversations(ws: Workspace): Promise<{ conversations: Conversation[]; leftOut: number }> {
  const docs = new Map((await ws.listDocuments()).map((d) => [d.id, d]));
  const pairs = [...(await listQaPairs(ws, 'accepted')), ...(await listQaPairs(ws, 'edited'))];
  const kept = pairs.filter((p) => sourceState(p, docs) !== 'removed');
  return {
    conversations: kept.map((p) => [
      { role: 'user', content: p.question },
      { role: 'assistant', content: p.answer },
    ]),
    leftOut: pairs.length - kept.length,
  };
}

export interface QaFilter {
  status?: QaStatus;
  documentId?: string;
  /** source (extractive, local, api, import) */
  source?: string;
  /** Words that must all appear in the question or the answer (case-insensitive). */
  search?: string;
}

/** Pairs matching the filter, oldest first (the review order). */
export async function queryQaPairs(ws: Workspace, f: QaFilter): Promise<QaPairRow[]> {
  const where: string[] = [];
  if (f.status) where.push(`status = ${sqlString(f.status)}`);
  if (f.documentId) where.push(`document_id = ${sqlString(f.documentId)}`);
  if (f.source) where.push(`source = ${sqlString(f.source)}`);
  const q = (await ws.qaTable()).query();
  let rows = (await (where.length ? q.where(where.join(' AND ')) : q).toArray()) as QaPairRow[];
  const words = (f.search ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length) rows = rows.filter((r) => words.every((w) => `${r.question}\n${r.answer}`.toLowerCase().includes(w)));
  return rows
    .map(plainQa)
    .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
}

export async function qaPairById(ws: Workspace, id: string): Promise<QaPairRow | null> {
  const [row] = (await (await ws.qaTable()).query().where(`id = ${sqlString(id)}`).limit(1).toArray()) as QaPairRow[];
  return row ? plainQa(row) : null;
}

/** Counts per status of the given pairs. */
export function countByStatus(rows: readonly QaPairRow[]): Record<QaStatus, number> {
  const out = { pending: 0, accepted: 0, rejected: 0, edited: 0 };
  for (const r of rows) out[r.status]++;
  return out;
}

/**
 * A reviewer's change to one pair: new wording makes it `edited` (accepted, in the reviewer's words); a
 * status alone sets the status. Returns the stored pair, or null if there is no such pair.
 */
export async function updateQaPair(ws: Workspace, id: string, patch: { question?: string; answer?: string; status?: QaStatus }): Promise<QaPairRow | null> {
  const table = await ws.qaTable();
  const [row] = (await table.query().where(`id = ${sqlString(id)}`).limit(1).toArray()) as QaPairRow[];
  if (!row) return null;
  const question = patch.question?.trim() || row.question;
  const answer = patch.answer?.trim() || row.answer;
  const reworded = question !== row.question || answer !== row.answer;
  const status: QaStatus = reworded ? (patch.status === 'rejected' ? 'rejected' : 'edited') : (patch.status ?? row.status);
  const values = { question, answer, status, updated_at: new Date().toISOString() };
  await table.update({ where: `id = ${sqlString(id)}`, values });
  return plainQa({ ...row, ...values });
}

/** One status for many pairs, in one commit. */
export async function setQaStatus(ws: Workspace, ids: readonly string[], status: QaStatus): Promise<number> {
  if (!ids.length) return 0;
  const table = await ws.qaTable();
  const where = `id IN (${ids.map(sqlString).join(', ')})`;
  const n = await table.countRows(where);
  if (n) await table.update({ where, values: { status, updated_at: new Date().toISOString() } });
  return n;
}

import { randomUUID } from 'node:crypto';
import { detectLanguage } from '../ingest/detect-language.js';
import type { Conversation } from '../train/sft-data.js';
import { sqlString, type QaPairRow } from './schema.js';
import type { Workspace } from './workspace.js';

export type QaStatus = QaPairRow['status'];

export type NewQaPair = Omit<QaPairRow, 'id' | 'created_at'> & { id?: string };

/** Add pairs in one commit. */
export async function addQaPairs(ws: Workspace, pairs: NewQaPair[]): Promise<number> {
  if (!pairs.length) return 0;
  const now = new Date().toISOString();
  const rows: QaPairRow[] = pairs.map((p) => ({ teacher: null, paraphrase_of: null, ...p, id: p.id ?? randomUUID(), created_at: now, updated_at: now }));
  await (await ws.qaTable()).add(rows as unknown as Record<string, unknown>[]);
  return rows.length;
}

export async function listQaPairs(ws: Workspace, status?: QaStatus): Promise<QaPairRow[]> {
  const q = (await ws.qaTable()).query();
  const rows = (await (status ? q.where(`status = ${sqlString(status)}`) : q).toArray()) as QaPairRow[];
  return rows
    .map((r) => ({
      ...r, chunk_id: r.chunk_id ?? null, document_id: r.document_id ?? null, evidence: r.evidence ?? null,
      updated_at: r.updated_at ?? r.created_at, teacher: r.teacher ?? null, paraphrase_of: r.paraphrase_of ?? null,
    }))
    .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
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

/** Accepted (and edited) pairs as single-turn conversations: what `doctune train --workspace` learns from. */
export async function acceptedConversations(ws: Workspace): Promise<Conversation[]> {
  const pairs = [...(await listQaPairs(ws, 'accepted')), ...(await listQaPairs(ws, 'edited'))];
  return pairs.map((p) => [
    { role: 'user', content: p.question },
    { role: 'assistant', content: p.answer },
  ]);
}

/** Reading a training set from a file: Alpaca, ShareGPT or OpenAI messages, as conversations. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { DocTuneError } from '../errors.js';
import type { ChatMessage, Conversation } from '../models/messages.js';

/**
 * Read a training set: a JSON array or JSON Lines, each item Alpaca ({instruction, input?, output}),
 * ShareGPT ({conversations: [{from, value}]}) or OpenAI messages ({messages: [{role, content}]}).
 */
export async function readConversations(file: string): Promise<Conversation[]> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new DocTuneError('NOT_FOUND', `cannot read training data: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { path: file });
  }
  let items: unknown[];
  const trimmed = text.trim();
  try {
    items = trimmed.startsWith('[') ? (JSON.parse(trimmed) as unknown[]) : trimmed.split(/\r?\n/).filter((l) => l.trim()).map((l) => JSON.parse(l) as unknown);
  } catch (err) {
    throw new DocTuneError('BAD_ARGUMENT', `training data is not JSON or JSON Lines: ${(err as Error).message}`, { path: file });
  }
  const out = items.map((item, i) => toConversation(item, `${path.basename(file)} item ${i + 1}`));
  if (out.length === 0) throw new DocTuneError('BAD_ARGUMENT', 'the training data is empty', { path: file });
  return out;
}

function toConversation(item: unknown, where: string): Conversation {
  const o = item as Record<string, unknown>;
  if (o && typeof o.instruction === 'string' && typeof o.output === 'string') {
    const input = typeof o.input === 'string' && o.input.trim() ? `\n\n${o.input}` : '';
    return [
      { role: 'user', content: `${o.instruction}${input}` },
      { role: 'assistant', content: o.output },
    ];
  }
  if (o && Array.isArray(o.conversations)) {
    const roles: Record<string, ChatMessage['role']> = { human: 'user', user: 'user', gpt: 'assistant', assistant: 'assistant', system: 'system' };
    return check(o.conversations.map((m: { from?: string; value?: string }) => ({ role: roles[m.from ?? ''] ?? 'user', content: String(m.value ?? '') })), where);
  }
  if (o && Array.isArray(o.messages)) {
    return check(o.messages.map((m: { role?: string; content?: string }) => ({ role: (m.role as ChatMessage['role']) ?? 'user', content: String(m.content ?? '') })), where);
  }
  throw new DocTuneError('BAD_ARGUMENT', `${where}: not Alpaca, ShareGPT or OpenAI-messages format`);
}

function check(conv: Conversation, where: string): Conversation {
  if (!conv.some((m) => m.role === 'assistant')) throw new DocTuneError('BAD_ARGUMENT', `${where}: no assistant message to learn from`);
  for (const m of conv) if (!['system', 'user', 'assistant'].includes(m.role)) throw new DocTuneError('BAD_ARGUMENT', `${where}: unknown role "${m.role}"`);
  return conv;
}

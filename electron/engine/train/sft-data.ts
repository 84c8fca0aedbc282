import fs from 'node:fs/promises';
import path from 'node:path';
import type { ChatHistoryItem, ChatWrapper, LlamaModel, Token } from 'node-llama-cpp';
import { DocTuneError } from '../errors.js';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export type Conversation = ChatMessage[];

export interface TokenizedExample {
  tokens: number[];
  /** labels[t] is the token to predict after tokens[0..t], or -1 where no loss applies (prompt, template). */
  labels: number[];
  /** Which conversation of the training set it came from (long ones may give several windows). */
  conversation?: number;
}

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

/** node-llama-cpp's chat history for a conversation: what training renders and what chat continues. */
export function chatHistoryOf(conv: Conversation): ChatHistoryItem[] {
  return history(conv, conv.length - 1, conv.at(-1)?.role === 'assistant' ? conv.at(-1)!.content : '');
}

function history(conv: Conversation, upTo: number, lastResponse: string): ChatHistoryItem[] {
  const items: ChatHistoryItem[] = [];
  conv.slice(0, upTo + 1).forEach((m, i) => {
    if (m.role === 'system') items.push({ type: 'system', text: m.content });
    else if (m.role === 'user') items.push({ type: 'user', text: m.content });
    else items.push({ type: 'model', response: [i === upTo ? lastResponse : m.content] });
  });
  return items;
}

function commonPrefix(a: readonly Token[], b: readonly Token[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/**
 * Token ids and loss labels for one conversation, formatted by the model's own chat template (the chat
 * wrapper the chat window uses): loss on the assistant's tokens and the end-of-sequence after each answer,
 * nowhere else.
 */
export function tokenizeConversation(model: LlamaModel, wrapper: ChatWrapper, conv: Conversation): TokenizedExample {
  const render = (items: ChatHistoryItem[]): Token[] => wrapper.generateContextState({ chatHistory: items }).contextText.tokenize(model.tokenizer);
  const eos = model.tokens.eos;
  const lastAssistant = conv.map((m) => m.role).lastIndexOf('assistant');
  const full = render(history(conv, lastAssistant, conv[lastAssistant]!.content));
  const tokens: number[] = [...full];
  const trained = new Array<boolean>(tokens.length).fill(false);
  conv.forEach((m, i) => {
    if (m.role !== 'assistant') return;
    const before = render(history(conv, i, ''));
    const withAnswer = render(history(conv, i, m.content));
    const start = commonPrefix(before, withAnswer);
    // The answer's tokens sit at the same positions in the full conversation (earlier turns render identically).
    const end = Math.min(withAnswer.length, commonPrefix(withAnswer, full) > start ? commonPrefix(withAnswer, full) : withAnswer.length);
    for (let t = start; t < end && t < trained.length; t++) trained[t] = true;
  });
  if (eos !== null) {
    tokens.push(eos);
    trained.push(true);
  }
  const labels = tokens.map((_, t) => (t + 1 < tokens.length && trained[t + 1] ? tokens[t + 1]! : -1));
  return { tokens, labels };
}

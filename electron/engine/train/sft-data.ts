import type { ChatHistoryItem, ChatWrapper, LlamaModel, Token } from 'node-llama-cpp';
import { commonPrefix, commonSuffix, endOfTurnToken, renderTokens } from '../models/chat-template.js';
import type { Conversation } from '../models/messages.js';

export interface TokenizedExample {
  tokens: number[];
  /** labels[t] is the token to predict after tokens[0..t], or -1 where no loss applies (prompt, template). */
  labels: number[];
  /** Which conversation of the training set it came from (long ones may give several windows). */
  conversation?: number;
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

/**
 * Token ids and loss labels for one conversation, formatted by the model's own chat template (the chat
 * wrapper the chat window uses): loss on each answer and on the token the template closes it with (its
 * end-of-turn, which stops generation), nowhere else. The last answer is rendered as chat continues it (for
 * Qwen3, after the empty think block); earlier answers as the template renders them in a history.
 */
export function tokenizeConversation(model: LlamaModel, wrapper: ChatWrapper, conv: Conversation): TokenizedExample {
  const render = (c: Conversation, upTo: number, last: string): Token[] => renderTokens(model, wrapper, history(c, upTo, last));
  const end = endOfTurnToken(model, wrapper);
  const lastAssistant = conv.map((m) => m.role).lastIndexOf('assistant');
  const full = render(conv, lastAssistant, conv[lastAssistant]!.content);
  const tokens: number[] = [...full];
  const trained = new Array<boolean>(tokens.length).fill(false);
  const mark = (from: number, to: number): void => {
    for (let t = from; t < to && t < trained.length; t++) trained[t] = true;
  };
  conv.forEach((m, i) => {
    if (m.role !== 'assistant') return;
    if (i === lastAssistant) {
      mark(commonPrefix(render(conv, i, ''), full), full.length);
      return;
    }
    // An earlier answer, followed by the next message as in the full conversation. It starts where the chat
    // prompt for it ends, and runs to the template's end-of-turn after it (learned too); for a template with
    // none, to where the history with that answer left empty is the same again.
    const next = conv.slice(0, i + 2);
    const withAnswer = render(next, next.length - 1, '');
    const from = commonPrefix(render(conv, i, ''), withAnswer);
    let to: number;
    if (end !== null && withAnswer.indexOf(end, from) >= 0) to = withAnswer.indexOf(end, from) + 1;
    else to = withAnswer.length - commonSuffix(withAnswer, render(next.map((x, k) => (k === i ? { ...x, content: '' } : x)), next.length - 1, ''));
    if (commonPrefix(withAnswer, full) >= to) mark(from, to);
  });
  if (end !== null) {
    tokens.push(end);
    trained.push(true);
  }
  const labels = tokens.map((_, t) => (t + 1 < tokens.length && trained[t + 1] ? tokens[t + 1]! : -1));
  return { tokens, labels };
}

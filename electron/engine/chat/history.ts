/**
 * What a model is shown of a saved conversation: side-by-side mode keeps two answers per question (base and
 * adapted), and each model continues the conversation it had, turn by turn. Failed answers are left out:
 * their partial text was never an answer the user accepted.
 */
import type { ChatMessage, ChatSide } from '../../shared/contract.js';
import type { Conversation } from '../models/messages.js';

export function historyFor(messages: readonly ChatMessage[], side: ChatSide): Conversation {
  const out: Conversation = [];
  let answers: ChatMessage[] = [];
  const flush = (): void => {
    const usable = answers.filter((m) => !m.error && m.content !== '');
    // This side's answer to the turn; else one with no side (a single-model turn); else the other side's.
    const pick = usable.find((m) => m.side === side) ?? usable.find((m) => !m.side) ?? usable[0];
    if (pick) out.push({ role: 'assistant', content: pick.content });
    answers = [];
  };
  for (const m of messages) {
    if (m.role === 'assistant') {
      answers.push(m);
      continue;
    }
    flush();
    out.push({ role: m.role, content: m.content });
  }
  flush();
  return out;
}

import type { ChatMessage, ChatSettings, ChatSide, Citation } from '$shared/contract';

/** Side-by-side columns read left to right: the base model, then the adapted one. */
export const SIDE_ORDER: readonly ChatSide[] = ['base', 'adapted'];

/** How an answer ended when it did not simply finish (kept while the conversation is open, never saved). */
export type AnswerEnd =
  | { kind: 'done'; finishReason: 'stop' | 'length' }
  /** `citations`: the passages retrieved for the question, kept with a failure that left no answer to hold them. */
  | { kind: 'failed'; error: string; code: string; citations?: Citation[] };

/** The answer being generated: streamed text per side until every side is done or failed. */
export interface LiveTurn {
  jobId: string | null;
  /** Index in the conversation of the question being answered. */
  userIndex: number;
  sides: ChatSide[];
  text: Record<ChatSide, string>;
  ended: Partial<Record<ChatSide, AnswerEnd>>;
  citations: Citation[];
}

export type AnswerState = 'waiting' | 'streaming' | 'done' | 'failed';

export interface AnswerView {
  side: ChatSide | null;
  text: string;
  citations: Citation[];
  state: AnswerState;
  error: string | null;
  /** The engine's error code with `error` (DISCONNECTED: the window lost the engine while it answered). */
  errorCode: string | null;
  truncated: boolean;
}

export interface TurnView {
  /** Index of the question in the conversation: stable while the conversation grows. */
  key: number;
  question: string;
  answers: AnswerView[];
}

export function endKey(userIndex: number, side: ChatSide | null): string {
  return `${userIndex}:${side ?? ''}`;
}

function sideRank(side: ChatSide | null): number {
  return side === null ? -1 : SIDE_ORDER.indexOf(side);
}

/** The sides the engine answers with for these settings (see chat.send). */
export function sidesFor(settings: Pick<ChatSettings, 'adapterPath' | 'compare'>): ChatSide[] {
  if (!settings.adapterPath) return ['base'];
  return settings.compare ? ['adapted', 'base'] : ['adapted'];
}

/**
 * The conversation as the window shows it: each question with its answers (one, or one per side in
 * side-by-side mode, base first), the answer being streamed included, and answers that never came shown
 * with their error.
 */
export function turnsOf(messages: readonly ChatMessage[], live: LiveTurn | null, ends: Readonly<Record<string, AnswerEnd>>): TurnView[] {
  const turns: TurnView[] = [];
  messages.forEach((message, index) => {
    if (message.role === 'user') {
      turns.push({ key: index, question: message.content, answers: [] });
      return;
    }
    const turn = turns.at(-1);
    if (message.role !== 'assistant' || !turn) return;
    const side = message.side ?? null;
    const end = ends[endKey(turn.key, side)];
    // A side that failed after writing something keeps its text, with the error.
    const failed = end?.kind === 'failed' ? end : null;
    turn.answers.push({
      side,
      text: message.content,
      citations: message.citations ?? [],
      state: failed ? 'failed' : 'done',
      error: failed?.error ?? null,
      errorCode: failed?.code ?? null,
      truncated: end?.kind === 'done' && end.finishReason === 'length',
    });
  });
  for (const turn of turns) {
    // Sides that failed and left no answer in the conversation.
    for (const side of SIDE_ORDER) {
      const end = ends[endKey(turn.key, side)];
      if (end?.kind === 'failed' && !turn.answers.some((answer) => answer.side === side)) {
        turn.answers.push({ side, text: '', citations: end.citations ?? [], state: 'failed', error: end.error, errorCode: end.code, truncated: false });
      }
    }
    if (live && turn.key === live.userIndex) {
      for (const side of live.sides) {
        const end = live.ended[side];
        const text = live.text[side];
        turn.answers.push({
          side,
          text,
          citations: live.citations,
          state: end ? end.kind : text ? 'streaming' : 'waiting',
          error: end?.kind === 'failed' ? end.error : null,
          errorCode: end?.kind === 'failed' ? end.code : null,
          truncated: end?.kind === 'done' && end.finishReason === 'length',
        });
      }
    }
    turn.answers.sort((a, b) => sideRank(a.side) - sideRank(b.side));
  }
  return turns;
}

/** The answers a finished live turn leaves in the conversation (a side that failed with no text leaves none). */
export function answersOf(live: LiveTurn): ChatMessage[] {
  return live.sides
    .filter((side) => live.text[side] !== '' || live.ended[side]?.kind === 'done')
    .map((side) => ({
      role: 'assistant' as const,
      content: live.text[side],
      side,
      ...(live.citations.length > 0 ? { citations: live.citations } : {}),
    }));
}

function randomHex(bytes: number): string {
  const values = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(values, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A conversation id the engine accepts as a file name (^[\w-]{1,64}$). */
export function newConversationId(): string {
  // randomUUID needs a secure context; browser mode may be opened over plain HTTP on another address.
  const raw = typeof crypto.randomUUID === 'function' ? crypto.randomUUID() : randomHex(16);
  return raw.replace(/[^\w-]/g, '').slice(0, 64) || randomHex(16);
}

const TITLE_LENGTH = 80;

/** A conversation's title: its first question on one line, shortened. */
export function titleOf(messages: readonly ChatMessage[]): string {
  const first = messages.find((message) => message.role === 'user')?.content ?? '';
  const line = first.replace(/\s+/g, ' ').trim();
  const chars = Array.from(line);
  return chars.length > TITLE_LENGTH ? `${chars.slice(0, TITLE_LENGTH - 1).join('').trimEnd()}…` : line;
}

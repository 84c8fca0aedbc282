import type { ChatMessage, ChatSettings, ChatSide, Citation } from '$shared/contract';

/** Side-by-side columns read left to right: the base model, then the adapted one. */
export const SIDE_ORDER: readonly ChatSide[] = ['base', 'adapted'];

/** How a streamed answer ended (saved with the answer as its finishReason or error). */
export type AnswerEnd = { kind: 'done'; finishReason: 'stop' | 'length' } | { kind: 'failed'; error: string; code: string };

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
 * side-by-side mode, base first), the answer being streamed included, and failed answers with their error.
 */
export function turnsOf(messages: readonly ChatMessage[], live: LiveTurn | null): TurnView[] {
  const turns: TurnView[] = [];
  messages.forEach((message, index) => {
    if (message.role === 'user') {
      turns.push({ key: index, question: message.content, answers: [] });
      return;
    }
    const turn = turns.at(-1);
    if (message.role !== 'assistant' || !turn) return;
    // A side that failed after writing something keeps its text, with the error.
    turn.answers.push({
      side: message.side ?? null,
      text: message.content,
      citations: message.citations ?? [],
      state: message.error ? 'failed' : 'done',
      error: message.error?.message ?? null,
      errorCode: message.error?.code ?? null,
      truncated: message.finishReason === 'length',
    });
  });
  for (const turn of turns) {
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

/**
 * The answers a finished live turn leaves in the conversation: one per side, with how it ended (a failed
 * side keeps what it wrote, and the error; the engine never shows a failed answer to a model).
 */
export function answersOf(live: LiveTurn): ChatMessage[] {
  return live.sides.map((side) => {
    const end = live.ended[side];
    return {
      role: 'assistant' as const,
      content: live.text[side],
      side,
      ...(live.citations.length > 0 ? { citations: live.citations } : {}),
      ...(end?.kind === 'done' ? { finishReason: end.finishReason } : {}),
      ...(end?.kind === 'failed' ? { error: { message: end.error, code: end.code } } : {}),
    };
  });
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

/**
 * Whether a conversation is worth saving: once saved it is kept up to date, but a new one is saved only when a
 * model has answered (a failed first turn, e.g. a model that cannot load, is no conversation to come back to).
 */
export function worthSaving(messages: readonly ChatMessage[], saved: boolean): boolean {
  const answers = messages.filter((message) => message.role === 'assistant');
  return saved ? answers.length > 0 : answers.some((message) => !message.error);
}

const TITLE_LENGTH = 80;

/** A conversation's title: its first question on one line, shortened. */
export function titleOf(messages: readonly ChatMessage[]): string {
  const first = messages.find((message) => message.role === 'user')?.content ?? '';
  const line = first.replace(/\s+/g, ' ').trim();
  const chars = Array.from(line);
  return chars.length > TITLE_LENGTH ? `${chars.slice(0, TITLE_LENGTH - 1).join('').trimEnd()}…` : line;
}

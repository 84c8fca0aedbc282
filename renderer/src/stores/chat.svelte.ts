import type { ChatMessage, ChatSide, Conversation } from '$shared/contract';
import { getApi, onConnectionState } from '../lib/api';
import { answersOf, newConversationId, SIDE_ORDER, sidesFor, titleOf, turnsOf, worthSaving, type AnswerEnd, type LiveTurn } from '../lib/chat-turns';
import { problemOf, type Problem } from '../lib/problems';
import { chatSettings } from './chat-settings.svelte';
import { conversations } from './conversations.svelte';

/** Streamed tokens are shown in batches this often (a repaint per token would keep the window busy). */
const TOKEN_FLUSH_MS = 50;

/**
 * The open conversation: its messages, the answer being streamed (one side, or the base and the adapted model
 * side by side), and saving after every completed turn. Answers arrive as chat.* events of the job chat.send
 * started; events that come before chat.send has answered with the job's id are held until it has.
 */
class ChatStore {
  conversationId = $state<string | null>(null);
  title = $state('');
  messages = $state.raw<ChatMessage[]>([]);
  live = $state<LiveTurn | null>(null);
  draft = $state('');
  sending = $state(false);
  stopping = $state(false);
  problem = $state.raw<Problem | null>(null);

  generating = $derived(this.live !== null || this.sending);
  turns = $derived(turnsOf(this.messages, this.live));

  private early: { jobId: string; apply: () => void }[] = [];
  /** Streamed text not shown yet: tokens come faster than the window needs to repaint. */
  private tokens: Partial<Record<ChatSide, string>> = {};
  private tokenTimer: ReturnType<typeof setTimeout> | null = null;
  private stopRequested = false;
  private saves: Promise<void> = Promise.resolve();

  listen(): () => void {
    const api = getApi();
    const offs = [
      api.on('chat.citations', ({ jobId, citations }) =>
        this.route(jobId, (live) => {
          live.citations = citations;
        }),
      ),
      api.on('chat.token', ({ jobId, side, text }) => this.route(jobId, () => this.queueToken(side, text))),
      api.on('chat.done', ({ jobId, side, text, finishReason }) =>
        this.route(jobId, (live) => {
          delete this.tokens[side];
          live.text[side] = text;
          this.end(live, side, { kind: 'done', finishReason });
        }),
      ),
      api.on('chat.failed', ({ jobId, side, error, code }) => this.route(jobId, (live) => this.end(live, side, { kind: 'failed', error, code }))),
      // Events sent while the socket was down are lost: an answer in progress would never end.
      onConnectionState((state) => {
        const live = this.live;
        if (state !== 'closed' || !live || live.jobId === null) return;
        for (const side of live.sides) this.end(live, side, { kind: 'failed', error: 'DISCONNECTED', code: 'DISCONNECTED' });
      }),
    ];
    return () => offs.forEach((off) => off());
  }

  /** Ask the draft as the next question. */
  async send(): Promise<void> {
    const question = this.draft.trim();
    if (!question || this.generating) return;
    this.sending = true;
    this.problem = null;
    this.stopRequested = false;
    try {
      // The engine answers with the settings it has: changes still being saved must reach it first.
      await chatSettings.settled();
      const settings = chatSettings.settings;
      if (!settings) return;
      const userIndex = this.messages.length;
      const messages: ChatMessage[] = [...this.messages, { role: 'user', content: question }];
      this.messages = messages;
      this.draft = '';
      this.early = [];
      this.live = { jobId: null, userIndex, sides: sidesFor(settings), text: { base: '', adapted: '' }, ended: {}, citations: [] };
      try {
        const { jobId } = await getApi().invoke('chat.send', { messages });
        const live = this.live;
        if (!live || live.userIndex !== userIndex) return;
        live.jobId = jobId;
        for (const event of this.early.splice(0)) if (event.jobId === jobId) event.apply();
        if (this.stopRequested) void this.stop();
      } catch (err) {
        // Not asked: the question goes back to the input box.
        this.early = [];
        this.live = null;
        this.messages = this.messages.slice(0, userIndex);
        this.draft = question;
        this.problem = problemOf(err);
      }
    } finally {
      this.sending = false;
    }
  }

  /** Stop generating; what was written so far is kept as the answer. */
  async stop(): Promise<void> {
    const live = this.live;
    if (!live) return;
    if (live.jobId === null) {
      this.stopRequested = true;
      return;
    }
    this.stopping = true;
    try {
      await getApi().invoke('chat.stop', { jobId: live.jobId });
    } catch (err) {
      this.problem = problemOf(err);
      this.stopping = false;
    }
  }

  /** Start a new, empty conversation (saved once its first answer is complete). */
  startNew(): void {
    if (this.generating) return;
    this.conversationId = null;
    this.title = '';
    this.messages = [];
    this.problem = null;
  }

  open(conversation: Conversation): void {
    if (this.generating) return;
    this.conversationId = conversation.id;
    this.title = conversation.title;
    this.messages = conversation.messages;
    this.problem = null;
  }

  async remove(id: string): Promise<void> {
    if (id === this.conversationId && this.generating) return;
    if ((await conversations.remove(id)) && id === this.conversationId) this.startNew();
  }

  private route(jobId: string, apply: (live: LiveTurn) => void): void {
    const live = this.live;
    if (!live) return;
    const run = (): void => {
      if (this.live) apply(this.live);
    };
    if (live.jobId === jobId) run();
    else if (live.jobId === null) this.early.push({ jobId, apply: run });
  }

  /** The first token shows at once; those that follow within TOKEN_FLUSH_MS show together after it. */
  private queueToken(side: ChatSide, text: string): void {
    this.tokens[side] = (this.tokens[side] ?? '') + text;
    if (this.tokenTimer !== null) return;
    this.flushTokens();
    this.tokenTimer = setTimeout(() => this.trailingFlush(), TOKEN_FLUSH_MS);
  }

  private trailingFlush(): void {
    this.tokenTimer = null;
    if (Object.keys(this.tokens).length === 0) return;
    this.flushTokens();
    this.tokenTimer = setTimeout(() => this.trailingFlush(), TOKEN_FLUSH_MS);
  }

  private flushTokens(): void {
    const tokens = this.tokens;
    this.tokens = {};
    const live = this.live;
    if (!live) return;
    for (const side of SIDE_ORDER) {
      const text = tokens[side];
      if (text && !live.ended[side]) live.text[side] += text;
    }
  }

  private end(live: LiveTurn, side: ChatSide, end: AnswerEnd): void {
    if (live.ended[side]) return;
    // What a failed side wrote before it failed is kept.
    this.flushTokens();
    if (!live.sides.includes(side)) live.sides.push(side);
    live.ended[side] = end;
    if (live.sides.some((s) => !live.ended[s])) return;
    const finished = $state.snapshot(live) as LiveTurn;
    this.messages = [...this.messages, ...answersOf(finished)];
    this.live = null;
    this.tokens = {};
    this.stopping = false;
    void this.save();
  }

  /** Saved after every completed turn, one save at a time (a new conversation once a model has answered). */
  private save(): Promise<void> {
    if (!worthSaving(this.messages, this.conversationId !== null)) return this.saves;
    if (!this.conversationId) {
      this.conversationId = newConversationId();
      this.title = titleOf(this.messages);
    }
    const conversation: Conversation = { id: this.conversationId, title: this.title, updatedAt: new Date().toISOString(), messages: this.messages };
    this.saves = this.saves.then(async () => {
      try {
        await getApi().invoke('chat.save', { conversation });
        conversations.upsert(conversation);
      } catch (err) {
        this.problem = problemOf(err);
      }
    });
    return this.saves;
  }
}

export const chat = new ChatStore();

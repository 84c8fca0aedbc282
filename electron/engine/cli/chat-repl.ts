/**
 * `doctune chat` as a conversation: a prompt, each answer streamed as it is written, the conversation kept
 * from turn to turn. /exit or Ctrl-D leaves, /reset starts a new conversation; Ctrl-C stops the answer
 * being written (at the prompt it says how to leave, and a second one leaves).
 */
import readline from 'node:readline';
import { toWireError } from '../errors.js';
import type { Conversation } from '../models/messages.js';

/** Answers the conversation so far, streaming its text; stopped by the signal, it ends with the text so far. */
export type ReplAnswerer = (messages: Conversation, onToken: (text: string) => void, signal: AbortSignal) => Promise<{ text: string; after?: string }>;

export interface ChatReplOptions {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** A terminal: line editing, and Ctrl-C read as a key (otherwise it arrives as SIGINT). */
  terminal: boolean;
  answer: ReplAnswerer;
  /** Said once, before the first prompt. */
  greeting?: string;
}

export async function chatRepl(o: ChatReplOptions): Promise<void> {
  const rl = readline.createInterface({ input: o.input, output: o.output, terminal: o.terminal, prompt: '> ' });
  const history: Conversation = [];
  let answering: AbortController | null = null;
  let warned = false;
  const interrupt = (): void => {
    if (answering) {
      answering.abort();
      return;
    }
    if (warned) {
      rl.close();
      return;
    }
    warned = true;
    o.output.write('\n(to leave: /exit or Ctrl-D; Ctrl-C again leaves now)\n');
    rl.prompt();
  };
  rl.on('SIGINT', interrupt);
  process.on('SIGINT', interrupt);
  if (o.greeting) o.output.write(`${o.greeting}\n`);
  rl.prompt();
  try {
    for await (const raw of rl) {
      warned = false;
      const line = raw.trim();
      if (line === '/exit' || line === '/quit') break;
      if (line === '/reset') {
        history.length = 0;
        o.output.write('(a new conversation)\n');
      } else if (line) {
        history.push({ role: 'user', content: line });
        const controller = new AbortController();
        answering = controller;
        try {
          const r = await o.answer(history.slice(), (text) => o.output.write(text), controller.signal);
          o.output.write(`\n${controller.signal.aborted ? '(stopped)\n' : ''}${r.after ?? ''}`);
          // A stopped answer stays in the conversation as far as it went; one with no text at all does not.
          if (r.text) history.push({ role: 'assistant', content: r.text });
          else history.pop();
        } catch (err) {
          history.pop();
          o.output.write(`\nerror: ${toWireError(err).message}\n`);
        } finally {
          answering = null;
        }
      }
      rl.prompt();
    }
  } finally {
    rl.off('SIGINT', interrupt);
    process.off('SIGINT', interrupt);
    rl.close();
  }
}

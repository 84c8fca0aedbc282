/**
 * llama.cpp chat in a supervised worker process. The model and adapter are checked with DocTune's own GGUF
 * reader before llama.cpp sees them (it aborts the process on some malformed files); if the worker dies
 * anyway, the requests in flight fail with the reason, and the next request starts a new worker. Requests
 * beyond the worker's parallel slots wait in a bounded queue; beyond that, `busy` says to come back later.
 */
import path from 'node:path';
import { DocTuneError, type ErrorCode } from '../errors.js';
import { readGguf } from '../models/gguf/gguf-reader.js';
import { validateLoraAdapter } from '../models/lora-adapter.js';
import { launchWorker, type WorkerHandle } from '../worker-launcher.js';
import type { Conversation } from '../models/messages.js';
import { defaultThreads } from '../threads.js';
import type { ChatWorkerIn, ChatWorkerOut, GenerateRequest, LoadRequest } from './chat-worker.js';
import { workerEntry } from '../worker-entry.js';
import { CHAT_CONTEXT_TOKENS } from '../../shared/contract.js';

export interface ChatHostOptions extends Omit<LoadRequest, 'parallel' | 'contextSize' | 'scale' | 'threads'> {
  scale?: number;
  threads?: number;
  parallel?: number;
  contextSize?: number;
  /** Requests allowed to wait for a slot (beyond those running). */
  maxQueue?: number;
}

export interface Generation {
  text: string;
  finishReason: 'stop' | 'length';
  promptTokens: number;
  completionTokens: number;
}

export interface GenerateOptions {
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  seed?: number;
  onToken?: (text: string) => void;
  signal?: AbortSignal;
}

interface Pending {
  resolve(g: Generation): void;
  reject(e: Error): void;
  onToken?: ((text: string) => void) | undefined;
}

export class QueueFullError extends DocTuneError {
  constructor() {
    super('BUSY', 'the server is busy: too many requests waiting');
  }
}

/** Refuse a model or adapter llama.cpp could abort on, with the file and the reason. */
export async function checkModelFiles(modelPath: string, adapterPath?: string): Promise<void> {
  let base;
  try {
    base = await readGguf(modelPath);
  } catch (err) {
    throw new DocTuneError('MODEL', `not a usable GGUF model: ${(err as Error).message}`, { path: modelPath, cause: err });
  }
  if (!adapterPath) return;
  try {
    validateLoraAdapter(await readGguf(adapterPath), base);
  } catch (err) {
    throw new DocTuneError('MODEL', `not a usable LoRA adapter for this model: ${(err as Error).message}`, { path: adapterPath, cause: err });
  }
}

export class ChatHost {
  private worker: { handle: WorkerHandle; ready: Promise<void> } | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private running = 0;
  private readonly queue: (() => void)[] = [];
  private readonly counting = new Map<number, { resolve(c: number[]): void; reject(e: Error): void }>();
  /** Why the last worker ended, when it crashed. */
  lastCrash: string | null = null;
  /** Tokens one conversation may fill (prompt and answer), known once the model is loaded. */
  contextSize = 0;
  /** The threads the model runs on (as asked, or the cores that were free when it loaded). */
  threads = 0;

  private constructor(private readonly o: ChatHostOptions & { parallel: number; maxQueue: number }) {}

  static async open(o: ChatHostOptions): Promise<ChatHost> {
    await checkModelFiles(o.modelPath, o.adapterPath);
    const host = new ChatHost({ ...o, parallel: Math.max(1, o.parallel ?? 2), maxQueue: Math.max(0, o.maxQueue ?? 16) });
    await host.start();
    return host;
  }

  get parallel(): number {
    return this.o.parallel;
  }

  private start(): Promise<void> {
    if (this.worker) return this.worker.ready;
    const entry = workerEntry(import.meta.url, 'chat-worker');
    const handle = launchWorker(entry.file, entry.execArgv, { ...process.env, GGML_NO_BACKTRACE: '1' });
    let stderr = '';
    handle.onStderr((t) => (stderr = (stderr + t).slice(-2000)));
    let loaded: () => void = () => undefined;
    let failed: (e: Error) => void = () => undefined;
    const ready = new Promise<void>((resolve, reject) => {
      loaded = resolve;
      failed = reject;
    });
    handle.onMessage((raw) => {
      const m = raw as ChatWorkerOut;
      if (m.type === 'loaded') {
        this.contextSize = m.contextSize;
        return loaded();
      }
      if (m.type === 'counted') {
        this.counting.get(m.id)?.resolve(m.counts);
        this.counting.delete(m.id);
        return;
      }
      if (m.type === 'failed' && m.id !== null && this.counting.has(m.id)) {
        this.counting.get(m.id)!.reject(new DocTuneError(m.error.code as ErrorCode, m.error.message));
        this.counting.delete(m.id);
        return;
      }
      if (m.type === 'failed' && m.id === null) return failed(new DocTuneError(m.error.code as ErrorCode, m.error.message, { path: this.o.modelPath }));
      const p = m.type === 'failed' || m.type === 'token' || m.type === 'done' ? this.pending.get(m.id!) : undefined;
      if (!p) return;
      if (m.type === 'token') p.onToken?.(m.text);
      else if (m.type === 'done') {
        this.pending.delete(m.id);
        p.resolve({ text: m.text, finishReason: m.finishReason, promptTokens: m.promptTokens, completionTokens: m.completionTokens });
      } else if (m.type === 'failed') {
        this.pending.delete(m.id!);
        p.reject(new DocTuneError(m.error.code as ErrorCode, m.error.message));
      }
    });
    handle.onExit((code, signal) => {
      const last = stderr.trim().split('\n').filter(Boolean).slice(-2).join(' | ');
      const why = `the model process stopped (${signal ?? `exit ${code}`}) on ${path.basename(this.o.modelPath)}${this.o.adapterPath ? ` with ${path.basename(this.o.adapterPath)}` : ''}${last ? `: ${last}` : ''}`;
      this.lastCrash = why;
      if (this.worker?.handle === handle) this.worker = null;
      failed(new DocTuneError('MODEL', why, { path: this.o.modelPath }));
      for (const [id, p] of [...this.pending, ...this.counting]) {
        this.pending.delete(id);
        this.counting.delete(id);
        p.reject(new DocTuneError('MODEL', `${why}; it is restarted for the next request`, { path: this.o.modelPath }));
      }
    });
    // Threads: as asked, else the cores free now (measured when the model loads, so a restart re-measures).
    void (this.o.threads ? Promise.resolve(this.o.threads) : defaultThreads()).then((threads) => {
      this.threads = threads;
      const load: LoadRequest = {
        modelPath: this.o.modelPath, ...(this.o.adapterPath ? { adapterPath: this.o.adapterPath } : {}), scale: this.o.scale ?? 1,
        threads, parallel: this.o.parallel, contextSize: this.o.contextSize ?? CHAT_CONTEXT_TOKENS,
      };
      if (!handle.exited()) handle.send({ type: 'load', load } satisfies ChatWorkerIn);
    });
    this.worker = { handle, ready };
    ready.catch(() => {
      if (this.worker?.handle === handle) {
        handle.kill();
        this.worker = null;
      }
    });
    return ready;
  }

  /** A generation slot; false when the signal aborts first (a waiting request leaves the queue then). */
  private async slot(signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return false;
    if (this.running < this.o.parallel) {
      this.running++;
      return true;
    }
    if (this.queue.length >= this.o.maxQueue) throw new QueueFullError();
    return new Promise<boolean>((resolve) => {
      const onAbort = (): void => {
        const i = this.queue.indexOf(take);
        if (i >= 0) this.queue.splice(i, 1);
        resolve(false);
      };
      const take = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(take);
    });
  }

  private release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.running--;
  }

  /**
   * One answer to a conversation, formatted with the model's own chat template (as training did). Stopped
   * (the signal) while it waits for a slot or for the model to load, it ends there with no text; stopped while
   * it generates, with the text so far.
   */
  async generate(messages: Conversation, o: GenerateOptions = {}): Promise<Generation> {
    const stopped: Generation = { text: '', finishReason: 'stop', promptTokens: 0, completionTokens: 0 };
    if (!(await this.slot(o.signal))) return stopped;
    try {
      await this.start();
      if (o.signal?.aborted) return stopped;
      const id = this.nextId++;
      const request: GenerateRequest = {
        id, messages, maxTokens: o.maxTokens ?? 256, temperature: o.temperature ?? 0.7, topP: o.topP ?? 0.9, ...(o.seed !== undefined ? { seed: o.seed } : {}),
      };
      const handle = this.worker!.handle;
      const done = new Promise<Generation>((resolve, reject) => this.pending.set(id, { resolve, reject, onToken: o.onToken }));
      const onAbort = (): void => handle.send({ type: 'abort', id } satisfies ChatWorkerIn);
      o.signal?.addEventListener('abort', onAbort);
      handle.send({ type: 'generate', request } satisfies ChatWorkerIn);
      try {
        return await done;
      } finally {
        o.signal?.removeEventListener('abort', onAbort);
      }
    } finally {
      this.release();
    }
  }

  /** Token counts of texts in the model's own tokenizer (to fit retrieved passages into the context). */
  async countTokens(texts: string[]): Promise<number[]> {
    await this.start();
    const id = this.nextId++;
    const done = new Promise<number[]>((resolve, reject) => this.counting.set(id, { resolve, reject }));
    this.worker!.handle.send({ type: 'count', id, texts } satisfies ChatWorkerIn);
    return done;
  }

  /** For tests and the app's "restart model" action: end the worker as a crash would. */
  killWorker(): void {
    this.worker?.handle.kill();
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w && !w.handle.exited()) w.handle.kill();
  }
}

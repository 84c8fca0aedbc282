/**
 * A llama.cpp model in a supervised worker process (llama-worker.ts), for the local teacher, the judge and
 * the embedding model: every request is a message; if llama.cpp aborts, only the worker dies, and what was
 * in flight fails with the model file's name and what llama.cpp said. The file is checked by DocTune's own
 * GGUF reader before llama.cpp sees it.
 */
import path from 'node:path';
import { DocTuneError, type ErrorCode } from '../errors.js';
import { launchWorker, type WorkerHandle } from '../worker-launcher.js';
import { readGguf } from './gguf/gguf-reader.js';
import type { LlamaLoad, LlamaWorkerIn, LlamaWorkerOut, SchemaName } from './llama-worker.js';
import { workerEntry } from '../worker-entry.js';

type Request = Exclude<LlamaWorkerIn, { type: 'load' }>;
type RequestBody = Request extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export class LlamaWorkerHost {
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private nextId = 1;
  private dead: Error | null = null;

  private constructor(
    readonly modelPath: string,
    private readonly handle: WorkerHandle,
    readonly contextSize: number,
    readonly dimensions: number,
  ) {}

  static async open(load: LlamaLoad): Promise<LlamaWorkerHost> {
    const file = path.resolve(load.modelPath);
    try {
      await readGguf(file);
    } catch (err) {
      throw new DocTuneError('MODEL', `not a usable GGUF model: ${(err as Error).message}`, { path: file, cause: err });
    }
    const entry = workerEntry(import.meta.url, 'llama-worker');
    const handle = launchWorker(entry.file, entry.execArgv, { ...process.env, GGML_NO_BACKTRACE: '1' });
    let stderr = '';
    handle.onStderr((t) => (stderr = (stderr + t).slice(-2000)));
    let host: LlamaWorkerHost | null = null;
    const stopped = (code: number | null, signal: string | null): DocTuneError => {
      const last = stderr.trim().split('\n').filter(Boolean).slice(-2).join(' | ');
      return new DocTuneError('MODEL', `llama.cpp stopped on ${path.basename(file)} (${signal ?? `exit ${code}`})${last ? `: ${last}` : ''}`, { path: file });
    };
    const loaded = await new Promise<{ contextSize: number; dimensions: number }>((resolve, reject) => {
      handle.onMessage((raw) => {
        const m = raw as LlamaWorkerOut;
        if (m.type === 'loaded') return resolve(m);
        if (m.type === 'failed' && m.id === null) return reject(new DocTuneError(m.error.code as ErrorCode, m.error.message, { path: file }));
        if (!host) return;
        const p = m.id !== null ? host.pending.get(m.id) : undefined;
        if (!p || m.id === null) return;
        host.pending.delete(m.id);
        if (m.type === 'result') p.resolve(m.value);
        else p.reject(new DocTuneError(m.error.code as ErrorCode, m.error.message, { path: file }));
      });
      handle.onExit((code, signal) => {
        const err = stopped(code, signal);
        reject(err);
        if (!host) return;
        host.dead = err;
        for (const p of host.pending.values()) p.reject(err);
        host.pending.clear();
      });
      handle.send({ type: 'load', load: { ...load, modelPath: file } } satisfies LlamaWorkerIn);
    }).catch((err: unknown) => {
      handle.kill();
      throw err;
    });
    host = new LlamaWorkerHost(file, handle, loaded.contextSize, loaded.dimensions);
    return host;
  }

  private request<T>(body: RequestBody): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.handle.send({ ...body, id } as LlamaWorkerIn);
    });
  }

  /** A JSON answer constrained by the schema's grammar; null when the model's output did not parse. */
  ask<T>(prompt: string, schema: SchemaName, maxTokens: number): Promise<T | null> {
    return this.request<T | null>({ type: 'ask', prompt, schema, maxTokens });
  }

  /** The text cut to at most maxTokens of the model's own tokens. */
  fit(text: string, maxTokens: number): Promise<string> {
    return this.request<string>({ type: 'fit', text, maxTokens });
  }

  embed(text: string): Promise<number[]> {
    return this.request<number[]>({ type: 'embed', text });
  }

  async close(): Promise<void> {
    if (!this.handle.exited()) this.handle.kill();
  }
}

import { Worker } from 'node:worker_threads';
import { DocTuneError, type ErrorCode } from '../errors.js';
import type { ChunkOptions } from './types.js';
import type { ParsedFile, ParseRequest, ParseResponse } from './parse-protocol.js';

export interface ParserOptions {
  /** Heap cap for the parsing thread; a file that needs more is reported as too large. */
  maxHeapMb?: number;
  /** Wall-clock limit per file. */
  timeoutMs?: number;
  /** Override the worker script (the Electron build bundles it next to the main process). */
  workerUrl?: URL;
}

function defaultWorker(): { script: URL | string; eval: boolean } {
  const self = import.meta.url;
  if (self.endsWith('.ts')) {
    // Running from TypeScript sources (tests, tsx): register the same loader inside the worker first.
    const api = import.meta.resolve('tsx/esm/api');
    const entry = new URL('./parse-worker.ts', self).href;
    return { script: `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`, eval: true };
  }
  return { script: new URL('./parse-worker.js', self), eval: false };
}

/**
 * One long-lived parsing thread, restarted if it dies. Files are parsed one at a time: parsing is CPU-bound
 * and the machine's other core serves the UI and the database.
 */
export class DocumentParser {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly maxHeapMb: number;
  private readonly timeoutMs: number;
  private readonly workerUrl: URL | undefined;

  constructor(options: ParserOptions = {}) {
    this.maxHeapMb = options.maxHeapMb ?? 1024;
    this.timeoutMs = options.timeoutMs ?? 180_000;
    this.workerUrl = options.workerUrl;
  }

  private spawn(): Worker {
    const def = defaultWorker();
    const worker = new Worker(this.workerUrl ?? def.script, {
      eval: this.workerUrl ? false : def.eval,
      resourceLimits: { maxOldGenerationSizeMb: this.maxHeapMb, maxYoungGenerationSizeMb: 64 },
      stdout: true,
      stderr: true,
    });
    // pdf.js warns on stdout about fonts it substitutes; those are not the user's concern.
    worker.stdout.resume();
    worker.stderr.resume();
    worker.unref();
    return worker;
  }

  parse(file: string, chunking: ChunkOptions): Promise<ParsedFile> {
    const worker = (this.worker ??= this.spawn());
    const req: ParseRequest = { id: this.nextId++, file, targetTokens: chunking.targetTokens, overlapTokens: chunking.overlapTokens };
    return new Promise<ParsedFile>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      const fail = (code: ErrorCode, message: string): void => {
        cleanup();
        this.discard(worker);
        reject(new DocTuneError(code, message, { path: file }));
      };
      const onMessage = (res: ParseResponse): void => {
        if (res.id !== req.id) return;
        cleanup();
        if (res.ok) resolve({ document: res.document, chunks: res.chunks });
        else reject(new DocTuneError(res.error.code as ErrorCode, res.error.message, { path: file }));
      };
      const onError = (err: Error & { code?: string }): void => {
        if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') {
          fail('TOO_LARGE', `parsing needed more than ${this.maxHeapMb} MB of memory (file too large or a decompression bomb)`);
        } else fail('PARSE_FAILED', `parser crashed: ${err.message}`);
      };
      const onExit = (code: number): void => fail('PARSE_FAILED', `parser stopped unexpectedly (exit ${code})`);
      const timer = setTimeout(() => fail('TIMEOUT', `parsing took longer than ${Math.round(this.timeoutMs / 1000)} s`), this.timeoutMs);
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.postMessage(req);
    });
  }

  private discard(worker: Worker): void {
    if (this.worker === worker) this.worker = null;
    void worker.terminate();
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}

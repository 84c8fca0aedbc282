import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { DocTuneError, type ErrorCode } from '../errors.js';
import type { ChunkDraft, ChunkOptions } from './types.js';
import type { OcrLanguageSetting } from './ocr/ocr-engine.js';
import type { ParseAck, ParsedFile, ParseMessage, ParseRequest } from './parse-protocol.js';

export interface ParseFileOptions {
  /** OCR for scanned pages and image files (default: detected language); 'off' refuses them. */
  ocr?: OcrLanguageSetting | 'off';
  /** After each page read by OCR. */
  onOcrPage?: (done: number, total: number) => void;
  /** Stops the file at once (its thread is replaced). */
  signal?: AbortSignal;
  /**
   * Takes chunks in batches as a large text file is read (the file then never sits whole in memory); the
   * thread reads on once the returned promise resolves. Without it every file's chunks come at the end.
   */
  onChunks?: (chunks: ChunkDraft[]) => Promise<void>;
}

export interface ParserOptions {
  /** Heap cap for the parsing thread; a file that needs more is reported as too large. */
  maxHeapMb?: number;
  /** Wall-clock limit per file, or per OCR page while a file is read by OCR. */
  timeoutMs?: number;
  /** Parsing threads; defaults to the spare cores, at most two. */
  threads?: number;
  /** Override the worker script (the Electron build bundles it next to the main process). */
  workerUrl?: URL;
  /** Plain-text files from this size on are read in pieces (default 16 MB), in batches of chunks (tests lower both). */
  streamText?: { fromBytes?: number; batchChunks?: number };
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
 * A small pool of long-lived parsing threads (one per spare core, two at most by default), each restarted if
 * it dies. Parsing is CPU-bound; the thread that calls us keeps serving the UI and the database.
 */
export class DocumentParser {
  private readonly slots: (Worker | null)[];
  private readonly busy: boolean[];
  private readonly waiting: ((slot: number) => void)[] = [];
  private nextId = 1;
  private readonly maxHeapMb: number;
  private readonly timeoutMs: number;
  private readonly workerUrl: URL | undefined;
  private readonly streamText: ParserOptions['streamText'];

  constructor(options: ParserOptions = {}) {
    this.maxHeapMb = options.maxHeapMb ?? 1024;
    this.timeoutMs = options.timeoutMs ?? 180_000;
    this.workerUrl = options.workerUrl;
    this.streamText = options.streamText;
    const size = Math.max(1, options.threads ?? Math.min(2, availableParallelism()));
    this.slots = Array.from({ length: size }, () => null);
    this.busy = Array.from({ length: size }, () => false);
  }

  get threads(): number {
    return this.slots.length;
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

  private acquire(): Promise<number> {
    const free = this.busy.indexOf(false);
    if (free >= 0) {
      this.busy[free] = true;
      return Promise.resolve(free);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(slot: number): void {
    const next = this.waiting.shift();
    if (next) next(slot);
    else this.busy[slot] = false;
  }

  /** Start every thread and load the PDF engine in it, so the user's first import is not the slow one. */
  async warmUp(): Promise<void> {
    await Promise.all(
      this.slots.map(async () => {
        const slot = await this.acquire();
        try {
          await this.parseOn(slot, null, { targetTokens: 400, overlapTokens: 0 });
        } finally {
          this.release(slot);
        }
      }),
    );
  }

  async parse(file: string, chunking: ChunkOptions, options: ParseFileOptions = {}): Promise<ParsedFile> {
    const slot = await this.acquire();
    try {
      return await this.parseOn(slot, file, chunking, options);
    } finally {
      this.release(slot);
    }
  }

  private parseOn(slot: number, file: string | null, chunking: ChunkOptions, options: ParseFileOptions = {}): Promise<ParsedFile> {
    const worker = (this.slots[slot] ??= this.spawn());
    const req: ParseRequest = {
      id: this.nextId++, file, targetTokens: chunking.targetTokens, overlapTokens: chunking.overlapTokens, ocr: options.ocr ?? 'auto',
      ...(options.onChunks ? { stream: true } : {}),
      ...(this.streamText ? { streamText: this.streamText } : {}),
    };
    return new Promise<ParsedFile>((resolve, reject) => {
      let settled = false;
      const cleanup = (): void => {
        settled = true;
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        options.signal?.removeEventListener('abort', onAbort);
      };
      const fail = (code: ErrorCode, message: string): void => {
        cleanup();
        if (this.slots[slot] === worker) this.slots[slot] = null;
        void worker.terminate();
        reject(new DocTuneError(code, message, file === null ? undefined : { path: file }));
      };
      const onMessage = (res: ParseMessage): void => {
        if (res.id !== req.id) return;
        if ('batch' in res) {
          // A streamed file's batch: the clock restarts once it is stored (a huge file is slow, not stuck).
          clearTimeout(timer);
          options.onChunks!(res.batch).then(
            () => {
              if (settled) return;
              timer = setTimeout(onTimeout, this.timeoutMs);
              worker.postMessage({ ack: req.id } satisfies ParseAck);
            },
            (err: unknown) => {
              if (settled) return;
              const e = err instanceof DocTuneError ? err : null;
              fail(e?.code ?? 'INTERNAL', e?.message ?? `storing passages failed: ${(err as Error).message}`);
            },
          );
          return;
        }
        if ('progress' in res) {
          // OCR takes seconds a page: each page read restarts the clock.
          clearTimeout(timer);
          timer = setTimeout(onTimeout, this.timeoutMs);
          options.onOcrPage?.(res.progress.ocrDone, res.progress.ocrTotal);
          return;
        }
        cleanup();
        if (res.ok) {
          resolve({ document: res.document, chunks: res.chunks, ...(res.streamed ? { streamed: res.streamed } : {}) });
          return;
        }
        // A thread that failed on a file is replaced: a decompression bomb it refused may have left its heap
        // nearly full, and the next file would then fail for the bomb's sake.
        if (this.slots[slot] === worker) this.slots[slot] = null;
        void worker.terminate();
        reject(new DocTuneError(res.error.code as ErrorCode, res.error.message, file === null ? undefined : { path: file }));
      };
      const onError = (err: Error & { code?: string }): void => {
        if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') {
          fail('TOO_LARGE', `parsing needed more than ${this.maxHeapMb} MB of memory (file too large or a decompression bomb)`);
        } else fail('PARSE_FAILED', `parser crashed: ${err.message}`);
      };
      const onExit = (code: number): void => fail('PARSE_FAILED', `parser stopped unexpectedly (exit ${code})`);
      const onTimeout = (): void => fail('TIMEOUT', `parsing took longer than ${Math.round(this.timeoutMs / 1000)} s`);
      const onAbort = (): void => fail('CANCELLED', 'import cancelled');
      let timer = setTimeout(onTimeout, this.timeoutMs);
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.postMessage(req);
    });
  }

  async close(): Promise<void> {
    const workers = this.slots.filter((w): w is Worker => w !== null);
    this.slots.fill(null);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

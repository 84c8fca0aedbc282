import path from 'node:path';
import { defaultThreads } from '../threads.js';
import { LlamaWorkerHost } from './llama-host.js';

export interface EmbedderOptions {
  /** CPU threads for llama.cpp; its pool busy-waits, so never more than the machine can spare (default: the free cores). */
  threads?: number;
}

/**
 * A GGUF embedding model through node-llama-cpp, in a supervised worker process (llama.cpp aborts on some
 * files DocTune's reader accepts: then only the worker ends, and the error names the file). One instance per
 * model file; vectors are L2-normalised.
 */
export class Embedder {
  private constructor(private readonly host: LlamaWorkerHost) {}

  get modelPath(): string {
    return this.host.modelPath;
  }

  get dimensions(): number {
    return this.host.dimensions;
  }

  static async load(modelPath: string, options: EmbedderOptions = {}): Promise<Embedder> {
    const host = await LlamaWorkerHost.open({
      modelPath: path.resolve(modelPath), kind: 'embedder', threads: options.threads ?? (await defaultThreads()), parallel: 1, contextSize: 2048,
    });
    return new Embedder(host);
  }

  /** Embed one text; texts longer than the model's context are cut to fit it. */
  async embed(text: string): Promise<number[]> {
    return normalise(await this.host.embed(text));
  }

  async dispose(): Promise<void> {
    await this.host.close();
  }
}

function normalise(v: number[]): number[] {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n) || 1;
  return v.map((x) => x / n);
}

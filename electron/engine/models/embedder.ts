import { readGguf } from './gguf/gguf-reader.js';
import path from 'node:path';
import { getLlama, LlamaLogLevel, type Llama, type LlamaEmbeddingContext, type LlamaModel } from 'node-llama-cpp';
import { DocTuneError } from '../errors.js';

export interface EmbedderOptions {
  /** CPU threads for llama.cpp; its pool busy-waits, so never more than the machine can spare. */
  threads?: number;
  gpu?: boolean;
}

/** A GGUF embedding model through node-llama-cpp; one instance per model file. */
export class Embedder {
  private constructor(
    readonly modelPath: string,
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaEmbeddingContext,
    readonly dimensions: number,
    private readonly contextSize: number,
  ) {}

  static async load(modelPath: string, options: EmbedderOptions = {}): Promise<Embedder> {
    const abs = path.resolve(modelPath);
    // The header check reads only the metadata, and reports a damaged file before llama.cpp sees it.
    await readGguf(abs);
    const threads = options.threads ?? 1;
    try {
      const llama = await getLlama({ gpu: options.gpu ? 'auto' : false, logLevel: LlamaLogLevel.error, logger: () => undefined });
      const model = await llama.loadModel({ modelPath: abs, gpuLayers: options.gpu ? 'auto' : 0 });
      const contextSize = Math.min(2048, model.trainContextSize);
      const context = await model.createEmbeddingContext({ threads, contextSize });
      const probe = await context.getEmbeddingFor('dimension probe');
      return new Embedder(abs, llama, model, context, probe.vector.length, contextSize);
    } catch (err) {
      throw new DocTuneError('MODEL', `cannot load embedding model: ${(err as Error).message}`, { path: abs, cause: err });
    }
  }

  /** Embed one text; texts longer than the model's context are cut to fit it. */
  async embed(text: string): Promise<number[]> {
    const maxTokens = this.contextSize;
    let tokens = this.model.tokenize(text);
    if (tokens.length > maxTokens) tokens = tokens.slice(0, maxTokens);
    const emb = await this.context.getEmbeddingFor(tokens);
    return normalise([...emb.vector]);
  }

  async dispose(): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }
}

function normalise(v: number[]): number[] {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n) || 1;
  return v.map((x) => x / n);
}

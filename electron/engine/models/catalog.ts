/**
 * A curated list of small instruct models that DocTune can fine-tune on consumer hardware, each in two
 * quantizations: Q8_0 (near-lossless) and Q4_K_M (about 60% of the size, for small GPUs and the CPU).
 * Every entry carries the architecture shape from the model's published config.json, so what chat and
 * training need in memory can be estimated before the file is downloaded (see model-fit.ts).
 *
 * The files are bartowski's llama.cpp quantizations on Hugging Face: one naming scheme for every family,
 * single-file downloads, and the sizes below are those the repositories list (decimal GB/MB, rounded).
 */

export type CatalogQuant = 'Q8_0' | 'Q4_K_M';
export const CATALOG_QUANTS: readonly CatalogQuant[] = ['Q8_0', 'Q4_K_M'];

/** The decoder's shape: what the weights, the KV cache and a training step's activations scale with. */
export interface ModelShape {
  /** qwen2 adds biases to the q, k and v projections; llama has none. */
  arch: 'llama' | 'qwen2';
  nLayer: number;
  nEmbd: number;
  nFf: number;
  nHead: number;
  nHeadKv: number;
  nVocab: number;
  /** The output matrix is the token embedding (no separate output.weight in the GGUF). */
  tiedEmbeddings: boolean;
}

export interface CatalogEntry {
  id: string;
  name: string;
  family: string;
  /** Parameter count as published (safetensors metadata of the original model). */
  parameters: number;
  quant: CatalogQuant;
  /** hf:OWNER/REPO/FILE.gguf, as `doctune models pull` and `--model` take it. */
  uri: string;
  /** Approximate download size in bytes. */
  bytes: number;
  licence: string;
  /** Whether the licence allows commercial use (Llama's comes with conditions: attribution, a user cap). */
  commercialUse: boolean;
  /** Longest context the model was trained for (config.json max_position_embeddings). */
  contextLength: number;
  /** ISO 639-1 codes of the languages the model card says it handles; English first. */
  languages: string[];
  shape: ModelShape;
}

interface BaseModel {
  slug: string;
  name: string;
  family: string;
  parameters: number;
  repo: string;
  /** File name before "-<QUANT>.gguf". */
  filePrefix: string;
  bytes: Record<CatalogQuant, number>;
  licence: string;
  commercialUse: boolean;
  contextLength: number;
  languages: string[];
  shape: ModelShape;
}

// Qwen2.5 is trained on 29+ languages and is by far the strongest of these on Chinese text: DocTune's
// users bring English and Chinese documents, so it is the default family.
const QWEN_LANGUAGES = ['en', 'zh', 'fr', 'es', 'pt', 'de', 'it', 'ru', 'ja', 'ko', 'vi', 'th', 'ar'];
// Llama 3.2's officially supported languages (model card); Chinese is not among them.
const LLAMA_LANGUAGES = ['en', 'de', 'fr', 'it', 'pt', 'hi', 'es', 'th'];

const GB = 1e9;
const MB = 1e6;

const BASES: BaseModel[] = [
  {
    slug: 'qwen2.5-0.5b-instruct', name: 'Qwen2.5 0.5B Instruct', family: 'Qwen2.5', parameters: 494_032_768,
    repo: 'bartowski/Qwen2.5-0.5B-Instruct-GGUF', filePrefix: 'Qwen2.5-0.5B-Instruct',
    bytes: { Q8_0: 531 * MB, Q4_K_M: 398 * MB },
    licence: 'Apache-2.0', commercialUse: true, contextLength: 32_768, languages: QWEN_LANGUAGES,
    shape: { arch: 'qwen2', nLayer: 24, nEmbd: 896, nFf: 4864, nHead: 14, nHeadKv: 2, nVocab: 151_936, tiedEmbeddings: true },
  },
  {
    slug: 'qwen2.5-1.5b-instruct', name: 'Qwen2.5 1.5B Instruct', family: 'Qwen2.5', parameters: 1_543_714_304,
    repo: 'bartowski/Qwen2.5-1.5B-Instruct-GGUF', filePrefix: 'Qwen2.5-1.5B-Instruct',
    bytes: { Q8_0: 1.65 * GB, Q4_K_M: 986 * MB },
    licence: 'Apache-2.0', commercialUse: true, contextLength: 32_768, languages: QWEN_LANGUAGES,
    shape: { arch: 'qwen2', nLayer: 28, nEmbd: 1536, nFf: 8960, nHead: 12, nHeadKv: 2, nVocab: 151_936, tiedEmbeddings: true },
  },
  {
    // Unlike the 0.5B and 1.5B, the 3B is released under the Qwen Research License: non-commercial use.
    slug: 'qwen2.5-3b-instruct', name: 'Qwen2.5 3B Instruct', family: 'Qwen2.5', parameters: 3_085_938_688,
    repo: 'bartowski/Qwen2.5-3B-Instruct-GGUF', filePrefix: 'Qwen2.5-3B-Instruct',
    bytes: { Q8_0: 3.29 * GB, Q4_K_M: 1.93 * GB },
    licence: 'Qwen Research License', commercialUse: false, contextLength: 32_768, languages: QWEN_LANGUAGES,
    shape: { arch: 'qwen2', nLayer: 36, nEmbd: 2048, nFf: 11_008, nHead: 16, nHeadKv: 2, nVocab: 151_936, tiedEmbeddings: true },
  },
  {
    slug: 'llama-3.2-1b-instruct', name: 'Llama 3.2 1B Instruct', family: 'Llama 3.2', parameters: 1_235_814_400,
    repo: 'bartowski/Llama-3.2-1B-Instruct-GGUF', filePrefix: 'Llama-3.2-1B-Instruct',
    bytes: { Q8_0: 1.32 * GB, Q4_K_M: 808 * MB },
    licence: 'Llama 3.2 Community License', commercialUse: true, contextLength: 131_072, languages: LLAMA_LANGUAGES,
    shape: { arch: 'llama', nLayer: 16, nEmbd: 2048, nFf: 8192, nHead: 32, nHeadKv: 8, nVocab: 128_256, tiedEmbeddings: true },
  },
  {
    slug: 'llama-3.2-3b-instruct', name: 'Llama 3.2 3B Instruct', family: 'Llama 3.2', parameters: 3_212_749_824,
    repo: 'bartowski/Llama-3.2-3B-Instruct-GGUF', filePrefix: 'Llama-3.2-3B-Instruct',
    bytes: { Q8_0: 3.42 * GB, Q4_K_M: 2.02 * GB },
    licence: 'Llama 3.2 Community License', commercialUse: true, contextLength: 131_072, languages: LLAMA_LANGUAGES,
    shape: { arch: 'llama', nLayer: 28, nEmbd: 3072, nFf: 8192, nHead: 24, nHeadKv: 8, nVocab: 128_256, tiedEmbeddings: true },
  },
  {
    // Trained mostly on English; its 49k vocabulary splits Chinese into many tokens.
    slug: 'smollm2-1.7b-instruct', name: 'SmolLM2 1.7B Instruct', family: 'SmolLM2', parameters: 1_711_376_384,
    repo: 'bartowski/SmolLM2-1.7B-Instruct-GGUF', filePrefix: 'SmolLM2-1.7B-Instruct',
    bytes: { Q8_0: 1.82 * GB, Q4_K_M: 1.06 * GB },
    licence: 'Apache-2.0', commercialUse: true, contextLength: 8192, languages: ['en'],
    shape: { arch: 'llama', nLayer: 24, nEmbd: 2048, nFf: 8192, nHead: 32, nHeadKv: 32, nVocab: 49_152, tiedEmbeddings: true },
  },
];

export const MODEL_CATALOG: readonly CatalogEntry[] = BASES.flatMap((b) =>
  CATALOG_QUANTS.map((quant): CatalogEntry => ({
    id: `${b.slug}-${quant.toLowerCase()}`,
    name: b.name,
    family: b.family,
    parameters: b.parameters,
    quant,
    uri: `hf:${b.repo}/${b.filePrefix}-${quant}.gguf`,
    bytes: Math.round(b.bytes[quant]),
    licence: b.licence,
    commercialUse: b.commercialUse,
    contextLength: b.contextLength,
    languages: b.languages,
    shape: b.shape,
  })),
);

export function catalogEntry(id: string): CatalogEntry | undefined {
  return MODEL_CATALOG.find((e) => e.id === id);
}

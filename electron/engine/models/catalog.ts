/**
 * A curated list of small instruct models that DocTune can fine-tune on consumer hardware, each in two
 * quantizations: Q8_0 (near-lossless) and Q4_K_M (about 60% of the size, for small GPUs and the CPU).
 * Every entry carries the architecture shape from the model's published config.json, so what chat and
 * training need in memory can be estimated before the file is downloaded (see model-fit.ts).
 *
 * The files are bartowski's llama.cpp quantizations on Hugging Face: one naming scheme for every family,
 * single-file downloads, and the sizes below are those the repositories list (decimal GB/MB, rounded), or
 * the exact byte counts where those were found.
 */

export type CatalogQuant = 'Q8_0' | 'Q4_K_M';
export const CATALOG_QUANTS: readonly CatalogQuant[] = ['Q8_0', 'Q4_K_M'];

/**
 * The decoder's shape: what the weights, the KV cache and a training step's activations scale with. The arch
 * is the GGUF's general.architecture and decides the per-layer tensors (model-shape.ts): qwen2 adds biases to
 * the q, k and v projections; qwen3 normalizes each query and key head; gemma3 does too and adds norms after
 * attention and after the FFN; phi3 stores q, k, v as one fused matrix and gate and up as another.
 */
export interface ModelShape {
  arch: 'llama' | 'qwen2' | 'qwen3' | 'gemma3' | 'phi3';
  nLayer: number;
  nEmbd: number;
  nFf: number;
  nHead: number;
  nHeadKv: number;
  /** Size of one attention head (config.json head_dim) where it is not nEmbd / nHead, as in Qwen3 and Gemma 3. */
  headDim?: number;
  /** Rows of the GGUF's token embedding. */
  nVocab: number;
  /** The output matrix is the token embedding (no separate output.weight in the GGUF). */
  tiedEmbeddings: boolean;
}

export interface CatalogEntry {
  id: string;
  name: string;
  family: string;
  /**
   * Parameter count as published (safetensors metadata of the original model), which is what the GGUF holds:
   * Qwen3 0.6B's and 1.7B's include the output matrix stored beside the tied embedding; for the multimodal
   * Gemma 3 4B, the language model's share only (see its entry).
   */
  parameters: number;
  quant: CatalogQuant;
  /** hf:OWNER/REPO/FILE.gguf, as `doctune models pull` and `--model` take it. */
  uri: string;
  /** Approximate download size in bytes. */
  bytes: number;
  licence: string;
  /** Where the licence's terms are, when they are the publisher's own (Gemma Terms of Use). */
  terms?: string;
  /** Whether the licence allows commercial use (Llama's comes with conditions: attribution, a user cap). */
  commercialUse: boolean;
  /** Longest context the model was trained for (config.json max_position_embeddings). */
  contextLength: number;
  /** ISO 639-1 codes of the languages the model card says it handles; English first. */
  languages: string[];
  /**
   * The languages among DocTune's (English, Chinese) the family is the first choice for: Qwen for Chinese,
   * as the others that list Chinese (Phi-4-mini, Gemma 3 4B) are trained on far less of it.
   */
  preferredFor: string[];
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
  terms?: string;
  commercialUse: boolean;
  contextLength: number;
  languages: string[];
  preferredFor: string[];
  shape: ModelShape;
}

// Qwen2.5 (29+ languages) and Qwen3 (119) are by far the strongest of these on Chinese text: DocTune's
// users bring English and Chinese documents, so Qwen is the default family.
const QWEN_LANGUAGES = ['en', 'zh', 'fr', 'es', 'pt', 'de', 'it', 'ru', 'ja', 'ko', 'vi', 'th', 'ar'];
// Llama 3.2's officially supported languages (model card); Chinese is not among them.
const LLAMA_LANGUAGES = ['en', 'de', 'fr', 'it', 'pt', 'hi', 'es', 'th'];
// Phi-4-mini-instruct's model card lists 23 languages, Chinese among them.
const PHI4_LANGUAGES = ['en', 'ar', 'zh', 'cs', 'da', 'nl', 'fi', 'fr', 'de', 'he', 'hu', 'it', 'ja', 'ko', 'no', 'pl', 'pt', 'ru', 'es', 'sv', 'th', 'tr', 'uk'];
// Gemma 3 4B: "over 140 languages" (model card), not listed one by one; these are the ones listed for the
// other families. Gemma 3 1B is English only (Hugging Face's release notes: "English (1B), +140 languages").
const GEMMA_LANGUAGES = QWEN_LANGUAGES;
const GEMMA_TERMS = 'https://ai.google.dev/gemma/terms';
const ZH = ['en', 'zh'];
const EN = ['en'];

const GB = 1e9;
const MB = 1e6;

const BASES: BaseModel[] = [
  // Qwen3: the hybrid models (thinking on or off per turn in the chat template). The 0.6B and 1.7B store
  // lm_head beside the tied embedding (the hub's count, 0.75B and 2.03B, has it twice) and llama.cpp's
  // converter writes it as output.weight, so their GGUFs are untied; the 4B's is tied. Contexts are
  // config.json's max_position_embeddings (the card: 32,768 native, 131,072 with YaRN).
  {
    slug: 'qwen3-0.6b', name: 'Qwen3 0.6B', family: 'Qwen3', parameters: 751_632_384,
    repo: 'bartowski/Qwen_Qwen3-0.6B-GGUF', filePrefix: 'Qwen_Qwen3-0.6B',
    // Q8_0: LM Studio lists 804.75 MB for the same quantization. Q4_K_M: no published size was found;
    // this is the tensor total llama-quantize gives this shape (478.3 MB, model-shape.ts) plus the 6 MB
    // the Qwen tokenizer adds to every other Qwen file here.
    bytes: { Q8_0: 805 * MB, Q4_K_M: 484 * MB },
    licence: 'Apache-2.0', commercialUse: true, contextLength: 40_960, languages: QWEN_LANGUAGES, preferredFor: ZH,
    shape: { arch: 'qwen3', nLayer: 28, nEmbd: 1024, nFf: 3072, nHead: 16, nHeadKv: 8, headDim: 128, nVocab: 151_936, tiedEmbeddings: false },
  },
  {
    slug: 'qwen3-1.7b', name: 'Qwen3 1.7B', family: 'Qwen3', parameters: 2_031_739_904,
    repo: 'bartowski/Qwen_Qwen3-1.7B-GGUF', filePrefix: 'Qwen_Qwen3-1.7B',
    bytes: { Q8_0: 2.17 * GB, Q4_K_M: 1_282_439_584 },
    licence: 'Apache-2.0', commercialUse: true, contextLength: 40_960, languages: QWEN_LANGUAGES, preferredFor: ZH,
    shape: { arch: 'qwen3', nLayer: 28, nEmbd: 2048, nFf: 6144, nHead: 16, nHeadKv: 8, headDim: 128, nVocab: 151_936, tiedEmbeddings: false },
  },
  {
    slug: 'qwen3-4b', name: 'Qwen3 4B', family: 'Qwen3', parameters: 4_022_468_096,
    repo: 'bartowski/Qwen_Qwen3-4B-GGUF', filePrefix: 'Qwen_Qwen3-4B',
    bytes: { Q8_0: 4.28 * GB, Q4_K_M: 2.50 * GB },
    licence: 'Apache-2.0', commercialUse: true, contextLength: 40_960, languages: QWEN_LANGUAGES, preferredFor: ZH,
    shape: { arch: 'qwen3', nLayer: 36, nEmbd: 2560, nFf: 9728, nHead: 32, nHeadKv: 8, headDim: 128, nVocab: 151_936, tiedEmbeddings: true },
  },
  {
    slug: 'qwen2.5-0.5b-instruct', name: 'Qwen2.5 0.5B Instruct', family: 'Qwen2.5', parameters: 494_032_768,
    repo: 'bartowski/Qwen2.5-0.5B-Instruct-GGUF', filePrefix: 'Qwen2.5-0.5B-Instruct',
    bytes: { Q8_0: 531 * MB, Q4_K_M: 398 * MB },
    licence: 'Apache-2.0', commercialUse: true, contextLength: 32_768, languages: QWEN_LANGUAGES, preferredFor: ZH,
    shape: { arch: 'qwen2', nLayer: 24, nEmbd: 896, nFf: 4864, nHead: 14, nHeadKv: 2, nVocab: 151_936, tiedEmbeddings: true },
  },
  {
    slug: 'qwen2.5-1.5b-instruct', name: 'Qwen2.5 1.5B Instruct', family: 'Qwen2.5', parameters: 1_543_714_304,
    repo: 'bartowski/Qwen2.5-1.5B-Instruct-GGUF', filePrefix: 'Qwen2.5-1.5B-Instruct',
    bytes: { Q8_0: 1.65 * GB, Q4_K_M: 986 * MB },
    licence: 'Apache-2.0', commercialUse: true, contextLength: 32_768, languages: QWEN_LANGUAGES, preferredFor: ZH,
    shape: { arch: 'qwen2', nLayer: 28, nEmbd: 1536, nFf: 8960, nHead: 12, nHeadKv: 2, nVocab: 151_936, tiedEmbeddings: true },
  },
  {
    // Unlike the 0.5B and 1.5B, the 3B is released under the Qwen Research License: non-commercial use.
    slug: 'qwen2.5-3b-instruct', name: 'Qwen2.5 3B Instruct', family: 'Qwen2.5', parameters: 3_085_938_688,
    repo: 'bartowski/Qwen2.5-3B-Instruct-GGUF', filePrefix: 'Qwen2.5-3B-Instruct',
    bytes: { Q8_0: 3.29 * GB, Q4_K_M: 1.93 * GB },
    licence: 'Qwen Research License', commercialUse: false, contextLength: 32_768, languages: QWEN_LANGUAGES, preferredFor: ZH,
    shape: { arch: 'qwen2', nLayer: 36, nEmbd: 2048, nFf: 11_008, nHead: 16, nHeadKv: 2, nVocab: 151_936, tiedEmbeddings: true },
  },
  // Gemma 3: Google's own terms (commercial use allowed, under its prohibited-use policy); sliding-window
  // attention on five layers in six (a 1024-position window in the 4B's config.json; the 1B's window was not
  // found in a published copy of its config), a 262,144-token vocabulary.
  {
    slug: 'gemma-3-1b-it', name: 'Gemma 3 1B Instruct', family: 'Gemma 3', parameters: 999_885_952,
    repo: 'bartowski/google_gemma-3-1b-it-GGUF', filePrefix: 'google_gemma-3-1b-it',
    bytes: { Q8_0: 1_069_306_624, Q4_K_M: 806_058_496 },
    licence: 'Gemma Terms of Use', terms: GEMMA_TERMS, commercialUse: true, contextLength: 32_768, languages: ['en'], preferredFor: EN,
    shape: { arch: 'gemma3', nLayer: 26, nEmbd: 1152, nFf: 6912, nHead: 4, nHeadKv: 1, headDim: 256, nVocab: 262_144, tiedEmbeddings: true },
  },
  {
    // The original is multimodal: its published 4,300,079,472 parameters are this language model with a
    // 262,208-row embedding (3,880,263,168) plus the SigLIP vision tower and projector (419,816,304). The
    // GGUF holds the language model only, with 262,144 embedding rows (the vision tower is the separate
    // mmproj file): the count below.
    slug: 'gemma-3-4b-it', name: 'Gemma 3 4B Instruct', family: 'Gemma 3', parameters: 3_880_099_328,
    repo: 'bartowski/google_gemma-3-4b-it-GGUF', filePrefix: 'google_gemma-3-4b-it',
    bytes: { Q8_0: 4.13 * GB, Q4_K_M: 2.49 * GB },
    licence: 'Gemma Terms of Use', terms: GEMMA_TERMS, commercialUse: true, contextLength: 131_072, languages: GEMMA_LANGUAGES, preferredFor: EN,
    shape: { arch: 'gemma3', nLayer: 34, nEmbd: 2560, nFf: 10_240, nHead: 8, nHeadKv: 4, headDim: 256, nVocab: 262_144, tiedEmbeddings: true },
  },
  {
    // Fused q·k·v and gate·up projections; RoPE on 75% of each head (partial_rotary_factor), LongRoPE
    // beyond 4,096 positions; tied embeddings; 200,064-token vocabulary.
    slug: 'phi-4-mini-instruct', name: 'Phi-4-mini Instruct', family: 'Phi-4', parameters: 3_836_021_760,
    repo: 'bartowski/microsoft_Phi-4-mini-instruct-GGUF', filePrefix: 'microsoft_Phi-4-mini-instruct',
    bytes: { Q8_0: 4_084_611_456, Q4_K_M: 2.49 * GB },
    licence: 'MIT', commercialUse: true, contextLength: 131_072, languages: PHI4_LANGUAGES, preferredFor: EN,
    shape: { arch: 'phi3', nLayer: 32, nEmbd: 3072, nFf: 8192, nHead: 24, nHeadKv: 8, nVocab: 200_064, tiedEmbeddings: true },
  },
  {
    slug: 'llama-3.2-1b-instruct', name: 'Llama 3.2 1B Instruct', family: 'Llama 3.2', parameters: 1_235_814_400,
    repo: 'bartowski/Llama-3.2-1B-Instruct-GGUF', filePrefix: 'Llama-3.2-1B-Instruct',
    bytes: { Q8_0: 1.32 * GB, Q4_K_M: 808 * MB },
    licence: 'Llama 3.2 Community License', commercialUse: true, contextLength: 131_072, languages: LLAMA_LANGUAGES, preferredFor: EN,
    shape: { arch: 'llama', nLayer: 16, nEmbd: 2048, nFf: 8192, nHead: 32, nHeadKv: 8, nVocab: 128_256, tiedEmbeddings: true },
  },
  {
    slug: 'llama-3.2-3b-instruct', name: 'Llama 3.2 3B Instruct', family: 'Llama 3.2', parameters: 3_212_749_824,
    repo: 'bartowski/Llama-3.2-3B-Instruct-GGUF', filePrefix: 'Llama-3.2-3B-Instruct',
    bytes: { Q8_0: 3.42 * GB, Q4_K_M: 2.02 * GB },
    licence: 'Llama 3.2 Community License', commercialUse: true, contextLength: 131_072, languages: LLAMA_LANGUAGES, preferredFor: EN,
    shape: { arch: 'llama', nLayer: 28, nEmbd: 3072, nFf: 8192, nHead: 24, nHeadKv: 8, nVocab: 128_256, tiedEmbeddings: true },
  },
  {
    // Trained mostly on English; its 49k vocabulary splits Chinese into many tokens.
    slug: 'smollm2-1.7b-instruct', name: 'SmolLM2 1.7B Instruct', family: 'SmolLM2', parameters: 1_711_376_384,
    repo: 'bartowski/SmolLM2-1.7B-Instruct-GGUF', filePrefix: 'SmolLM2-1.7B-Instruct',
    bytes: { Q8_0: 1.82 * GB, Q4_K_M: 1.06 * GB },
    licence: 'Apache-2.0', commercialUse: true, contextLength: 8192, languages: ['en'], preferredFor: EN,
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
    ...(b.terms ? { terms: b.terms } : {}),
    commercialUse: b.commercialUse,
    contextLength: b.contextLength,
    languages: b.languages,
    preferredFor: b.preferredFor,
    shape: b.shape,
  })),
);

export function catalogEntry(id: string): CatalogEntry | undefined {
  return MODEL_CATALOG.find((e) => e.id === id);
}

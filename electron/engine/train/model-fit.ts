/**
 * What a catalog model needs in memory, for chat and for LoRA training, and where it fits on this machine's
 * GPUs or in its RAM, before anything is downloaded; and which model to recommend. Training reuses the
 * trainer's own static estimate (estimateStaticMemory) on a GGUF tensor list built from the model's shape;
 * a step's activations follow a formula calibrated on the trainer's measured plans (the trainer measures the
 * real step again when it starts, and proposes a smaller batch if the estimate was optimistic).
 */
import type { ComputeDevice } from '../../shared/contract.js';
import { DocTuneError } from '../errors.js';
import { DEVICE_HEADROOM, estimateStaticMemory, type StaticMemory } from './memory-plan.js';
import { DEFAULT_TRAIN_CONFIG } from './train-config.js';
import type { CatalogEntry, CatalogQuant, ModelShape } from '../models/catalog.js';
import { attentionDims, syntheticGguf } from '../models/model-shape.js';
import { CHAT_CONTEXT_TOKENS } from '../../shared/contract.js';

export { shapeParameters, syntheticGguf } from '../models/model-shape.js';

const GiB = 1024 ** 3;
/** The chat context DocTune opens (chat-host's default). */
export const CHAT_CONTEXT = CHAT_CONTEXT_TOKENS;
/** Tokens llama.cpp evaluates per micro-batch (node-llama-cpp's default batch size). */
const CHAT_UBATCH = 512;
/** RAM kept for the OS, the app itself and the embedder when the CPU chats or trains. */
export const RAM_RESERVE = 0.25;
/** Room a recommended model keeps at its smallest step (batch 1), as the activation figure is an estimate. */
const RECOMMEND_MARGIN = 0.1;
/** On the CPU a step's time grows with the parameters: beyond ~1B, an epoch over a few hundred examples takes hours. */
const CPU_MAX_PARAMETERS = 1.3e9;
/** GPUs with less memory than this are better served by Q4_K_M (more model per byte); larger ones by Q8_0. */
const SMALL_GPU_BYTES = 8 * GiB;

export interface ChatMemory {
  weights: number;
  kvCache: number;
  compute: number;
  total: number;
}

/**
 * Chat: the file's weights, an F16 KV cache for the whole context, and llama.cpp's compute buffer for one
 * micro-batch without flash attention (F32 logits over the vocabulary, the attention scores of every head
 * over the context, and the FFN's intermediate values), which it sizes for the worst case up front. The
 * cache holds head_dim × n_head_kv keys and values per layer and position; Gemma 3's sliding-window layers
 * need less (llama.cpp keeps only the window for them), which this leaves out: an overestimate there.
 */
export function chatMemory(entry: CatalogEntry, context = CHAT_CONTEXT): ChatMemory {
  const s = entry.shape;
  const kvCache = 2 * s.nLayer * context * attentionDims(s).kv * 2;
  const compute = 4 * CHAT_UBATCH * (s.nVocab + s.nHead * context + 2 * s.nFf + 4 * s.nEmbd);
  return { weights: entry.bytes, kvCache, compute, total: entry.bytes + kvCache + compute };
}

/**
 * A training step's activations (F32; trainer_forward.cpp keeps them all for the backward, no
 * checkpointing): per layer and token the saved inputs and outputs of the norms, projections and FFN
 * (5·E + 3·q + 3·kv + 2·F values, q = heads × head size, which is E but in Qwen3 and Gemma 3: the FFN's gate
 * and up; silu and the product are recomputed in the backward; qwen3 and gemma3 add their normed q and k,
 * gemma3 its two post-norms and, for its GELU-gated FFN, one more E) plus the softmaxed attention scores
 * (heads × seq per token); one layer's worth of backward temporaries (2·(E+F) per token); gemma3's scaled
 * embeddings (E per token) and sliding-window mask (seq²); and the logits of every position (V per token:
 * softmax and its gradient reuse the buffer in place). Once, for the layer being differentiated, the scores'
 * own temporaries of the backward: 1.5 sets of heads × seq² per sequence where ggml's mul_mat computes the
 * products (GPUs: it multiplies against transposed copies of the scores), half a set in DocTune's CPU GEMM.
 * Against the trainer's plan(512, 4) on random models of Qwen2.5-0.5B's and Llama-3.2-1B's layer shape this
 * gives 191 and 396 MiB per layer where the trainer measures 177 and 368, and one vocabulary-sized buffer per
 * token, as measured: conservative by about 8%; on small random llama, qwen3, gemma3 and phi3 models of 2
 * and 6 layers, by 1 to 20% from 128 to 1024 tokens on both paths (model-fit.test).
 */
export function trainingActivationBytes(s: ModelShape, batch: number, seq: number, products: 'ggml' | 'gemm' = 'ggml'): number {
  const tokens = batch * seq;
  const { q, kv } = attentionDims(s);
  const gemma = s.arch === 'gemma3';
  const extra = (s.arch === 'qwen3' || gemma ? q + kv : 0) + (gemma ? 3 * s.nEmbd : 0);
  const perLayer = tokens * (5 * s.nEmbd + 3 * q + 3 * kv + 2 * s.nFf + extra) * 4 + batch * s.nHead * seq * seq * 4;
  const scores = batch * s.nHead * seq * seq * 4;
  const once = (products === 'ggml' ? 1.5 : 0.5) * scores + (gemma ? tokens * s.nEmbd * 4 + seq * seq * 4 : 0);
  return s.nLayer * perLayer + tokens * 2 * (s.nEmbd + s.nFf) * 4 + tokens * s.nVocab * 4 + once;
}

export interface TrainingMemory {
  static: StaticMemory;
  activations: number;
  /** With transposed copies in Q8_0, and with compact ones (the trainer's fallback when only those fit). */
  total: number;
  totalCompact: number;
}

/**
 * The step length a model is planned for. Each step is padded only to its own longest sequence, and most QA
 * pairs are well under this; a longer step runs in smaller micro-batches when it does not fit (train-loop).
 */
export const PLAN_SEQ = 512;

/** `products`: ggml's mul_mat with transposed copies (GPUs, and CPUs without AVX2), or DocTune's CPU GEMM. */
export function trainingMemory(entry: CatalogEntry, batch: number = DEFAULT_TRAIN_CONFIG.batch, seq: number = PLAN_SEQ, products: 'ggml' | 'gemm' = 'ggml'): TrainingMemory {
  const st = estimateStaticMemory(syntheticGguf(entry.shape, entry.quant, entry.id), DEFAULT_TRAIN_CONFIG.rank, DEFAULT_TRAIN_CONFIG.targets);
  const activations = trainingActivationBytes(entry.shape, batch, seq, products);
  const fixed = st.weights + st.lora + st.optimizer + activations;
  return { static: st, activations, total: fixed + st.transposed, totalCompact: fixed + st.transposedCompact };
}

export interface Hardware {
  /** The device probe's report: GPUs first in --device auto's order, the CPU last (ignored: see ramBytes). */
  devices: ComputeDevice[];
  /** The machine's RAM, for what runs on the CPU. */
  ramBytes: number;
  /** The CPU trains in DocTune's GEMM (AVX2/AVX-512): no transposed weight copies there. Unknown: counted. */
  cpuMatmul?: boolean;
}

export type RunsOn = 'gpu' | 'cpu' | 'none';

export interface Placement {
  runsOn: RunsOn;
  /** e.g. "CUDA0 (NVIDIA GeForce RTX 4070)" or "CPU"; null when nothing fits. */
  device: string | null;
  /** Bytes needed there (when nothing fits: the least any configuration needs). */
  needed: number;
  /** Bytes usable there after headroom (when nothing fits: the most any device offers). */
  available: number;
  reason: string;
}

export interface TrainingPlacement extends Placement {
  /** The step that fits: the default batch, or the largest smaller one (with accum keeping the effective batch). */
  batch: number;
  accum: number;
  seq: number;
  compactTransposed: boolean;
}

export interface ModelFit {
  chat: Placement;
  training: TrainingPlacement;
}

interface Place {
  runsOn: 'gpu' | 'cpu';
  label: string;
  usable: number;
  total: number;
}

const gib = (bytes: number): string => `${(bytes / GiB).toFixed(1)} GiB`;

function places(hw: Hardware): Place[] {
  if (!Array.isArray(hw.devices) || !Number.isFinite(hw.ramBytes) || hw.ramBytes < 0) {
    throw new DocTuneError('BAD_ARGUMENT', 'hardware needs a device list and a RAM size in bytes');
  }
  const gpus = hw.devices
    .filter((d) => d.backend.toUpperCase() !== 'CPU')
    .map((d): Place => ({ runsOn: 'gpu', label: `${d.name} (${d.description})`, usable: Math.max(0, d.memoryFree) * (1 - DEVICE_HEADROOM), total: d.memoryTotal }));
  return [...gpus, { runsOn: 'cpu', label: 'CPU', usable: hw.ramBytes * (1 - RAM_RESERVE), total: hw.ramBytes }];
}

const where = (p: Place): string => (p.runsOn === 'cpu' ? 'the CPU (RAM)' : p.label);

function noRoom(needed: number, all: Place[], what: string): { needed: number; available: number; reason: string } {
  const best = all.reduce((a, b) => (b.usable > a.usable ? b : a));
  return { needed, available: best.usable, reason: `${what} needs at least ${gib(needed)}, but at most ${gib(best.usable)} are usable (${where(best)})` };
}

/** Where chat and training of this model run on this hardware: the first GPU with room, else the CPU, else nowhere. */
export function fitOnHardware(entry: CatalogEntry, hw: Hardware): ModelFit {
  const all = places(hw);
  const chatNeed = chatMemory(entry).total;
  const chatPlace = all.find((p) => chatNeed <= p.usable);
  const chat: Placement = chatPlace
    ? { runsOn: chatPlace.runsOn, device: chatPlace.label, needed: chatNeed, available: chatPlace.usable, reason: `chat fits on ${where(chatPlace)}: ${gib(chatNeed)} of ${gib(chatPlace.usable)} usable` }
    : { runsOn: 'none', device: null, ...noRoom(chatNeed, all, `chat (${CHAT_CONTEXT}-token context)`) };

  const { batch: defaultBatch } = DEFAULT_TRAIN_CONFIG;
  const seq = PLAN_SEQ;
  const batches: number[] = [];
  for (let b = defaultBatch; b >= 1; b = b > 1 ? Math.floor(b / 2) : 0) batches.push(b);
  // A GPU at a smaller batch beats the CPU at the default one: places first, then batches.
  for (const p of all) {
    for (const batch of batches) {
      const copies = !(p.runsOn === 'cpu' && hw.cpuMatmul);
      const m = trainingMemory(entry, batch, seq, copies ? 'ggml' : 'gemm');
      const compactTransposed = copies && m.total > p.usable;
      const needed = !copies ? m.total - m.static.transposed : compactTransposed ? m.totalCompact : m.total;
      if (needed > p.usable) continue;
      const accum = Math.ceil(defaultBatch / batch);
      const step = `batch ${batch} × ${seq} tokens${batch < defaultBatch ? ` (--batch ${batch} --accum ${accum})` : ''}`;
      return {
        chat,
        training: { runsOn: p.runsOn, device: p.label, needed, available: p.usable, batch, accum, seq, compactTransposed, reason: `trains on ${where(p)} with ${step}: ${gib(needed)} of ${gib(p.usable)} usable` },
      };
    }
  }
  const least = trainingMemory(entry, 1, seq).totalCompact;
  return { chat, training: { runsOn: 'none', device: null, batch: 1, accum: defaultBatch, seq, compactTransposed: true, ...noRoom(least, all, `training (batch 1 × ${seq} tokens)`) } };
}

export interface RecommendOptions {
  /** The documents' language; unset: models that handle both English and Chinese come first. */
  language?: 'en' | 'zh';
}

export interface Recommendation {
  entry: CatalogEntry | null;
  fit: ModelFit | null;
  reason: string;
}

const LANGUAGE_NAMES: Record<string, string> = { en: 'English', zh: 'Chinese' };

/**
 * The model to fine-tune here: one that trains on a GPU with a margin to spare, else a small one (≤ 1.3B
 * parameters, as the CPU is slow) that trains in RAM. Among those, models that handle the requested language
 * (unset: English and Chinese both) come first, and of those the families preferred for it (Qwen for
 * Chinese), then the largest (in half-billion classes), then the preferred quantization (Q4_K_M on GPUs under
 * 8 GiB and on the CPU, Q8_0 on larger GPUs), then a licence that allows commercial use, then the one that
 * trains in the least memory (a larger batch), then the id: the same inputs always give the same answer.
 */
export function recommendModel(catalog: readonly CatalogEntry[], hw: Hardware, options: RecommendOptions = {}): Recommendation {
  const { language } = options;
  if (language !== undefined && !Object.hasOwn(LANGUAGE_NAMES, language)) throw new DocTuneError('BAD_ARGUMENT', `unknown language "${String(language)}" (en or zh)`);
  if (!catalog.length) throw new DocTuneError('BAD_ARGUMENT', 'the model catalog is empty');
  const wanted = language ? [language] : ['en', 'zh'];
  const speaks = (e: CatalogEntry): boolean => wanted.every((l) => e.languages.includes(l));
  const preferred = (e: CatalogEntry): boolean => wanted.every((l) => e.preferredFor.includes(l));
  const candidates = catalog.map((entry) => ({ entry, fit: fitOnHardware(entry, hw) }));
  const leastMemory = new Map(catalog.map((e) => [e, trainingMemory(e, 1).totalCompact]));
  const least = (e: CatalogEntry): number => leastMemory.get(e)!;
  // The margin guards the choice of model, not the batch: the trainer measures the step and can shrink it.
  const comfortable = (entry: CatalogEntry, p: Placement): boolean => least(entry) <= p.available * (1 - RECOMMEND_MARGIN);
  const deviceTotal = (label: string | null): number => hw.devices.find((d) => `${d.name} (${d.description})` === label)?.memoryTotal ?? 0;

  const pick = (runsOn: RunsOn): (typeof candidates)[number] | undefined => {
    const ok = candidates.filter(({ entry, fit }) => fit.training.runsOn === runsOn && comfortable(entry, fit.training) && (runsOn === 'gpu' || entry.parameters <= CPU_MAX_PARAMETERS));
    const prefer = (c: (typeof candidates)[number]): CatalogQuant =>
      runsOn === 'gpu' && deviceTotal(c.fit.training.device) >= SMALL_GPU_BYTES ? 'Q8_0' : 'Q4_K_M';
    // Half-billion classes: 3.09B and 3.21B are the same size for this purpose.
    const sizeClass = (e: CatalogEntry): number => Math.round(e.parameters / 5e8);
    return ok.sort((a, b) =>
      Number(speaks(b.entry)) - Number(speaks(a.entry)) ||
      Number(preferred(b.entry)) - Number(preferred(a.entry)) ||
      sizeClass(b.entry) - sizeClass(a.entry) ||
      Number(b.entry.quant === prefer(b)) - Number(a.entry.quant === prefer(a)) ||
      Number(b.entry.commercialUse) - Number(a.entry.commercialUse) ||
      least(a.entry) - least(b.entry) ||
      a.entry.id.localeCompare(b.entry.id),
    )[0];
  };

  const gpu = pick('gpu');
  const chosen = gpu ?? pick('cpu');
  if (!chosen) {
    const smallest = [...candidates].sort((a, b) => least(a.entry) - least(b.entry) || a.entry.id.localeCompare(b.entry.id))[0]!;
    const { entry: e, fit: f } = smallest;
    const why = f.training.runsOn === 'none'
      ? f.training.reason
      : `needs ${gib(least(e))} at batch 1, which leaves less than ${RECOMMEND_MARGIN * 100}% of the ${gib(f.training.available)} usable on ${f.training.device} to spare`;
    return { entry: null, fit: null, reason: `no catalog model trains on this machine: the smallest, ${e.name} (${e.quant}): ${why}` };
  }
  const { entry, fit } = chosen;
  const langs = wanted.map((l) => LANGUAGE_NAMES[l]).join(' and ');
  const why = gpu
    ? `the largest model whose training fits on the GPU with room to spare`
    : `${places(hw).some((p) => p.runsOn === 'gpu') ? 'no GPU has room' : 'there is no usable GPU'}, and on the CPU small models train fastest; this is the largest small one that fits in RAM`;
  const notes = [
    speaks(entry) ? `handles ${langs}` : `no model that handles ${langs} fits`,
    entry.commercialUse ? null : `${entry.licence}: non-commercial use only`,
  ].filter(Boolean);
  return { entry, fit, reason: `${entry.name} (${entry.quant}): ${why}; it ${fit.training.reason}; ${notes.join('; ')}` };
}

/**
 * Memory plan of a training run on one device: what loading needs (base weights as stored, the transposed
 * copies the backward multiplies by, LoRA parameters, gradients and AdamW moments) is known from the GGUF
 * before anything is loaded; what a step needs (activations) is measured by the trainer for the chosen
 * batch and sequence length. When it does not fit, the plan says so in numbers and proposes the largest
 * batch/sequence length that does.
 */
import type { GgufFile } from '../models/gguf/gguf-reader.js';
import { GGML_BLOCK, GgmlType, tensorBytes } from '../models/gguf/gguf-types.js';
import { DocTuneError } from '../errors.js';
import type { LoraTarget, MemoryPlan } from './native-addon.js';

const MiB = 1024 * 1024;
/** Left free on the device for the driver, the scheduler's small buffers and fragmentation. */
export const DEVICE_HEADROOM = 0.06;

export interface StaticMemory {
  weights: number;
  /** Transposed copies in Q8_0 (accurate input gradients) and in the base's own type (compact). */
  transposed: number;
  transposedCompact: number;
  lora: number;
  /** Gradient accumulators and the two AdamW moments: three floats per LoRA parameter. */
  optimizer: number;
}

const EXACT = new Set([GgmlType.F32, GgmlType.F16, GgmlType.BF16]);
/** Types ggml quantizes only with an importance matrix (ggml_quantize_requires_imatrix): never re-encoded to. */
const NEEDS_IMATRIX = new Set([GgmlType.IQ2_XXS, GgmlType.IQ2_XS, GgmlType.IQ1_S]);

/**
 * The native trainer's type for the transposed copy of a matrix stored as `type` with rows of nOut values
 * (dt_transposed_type in trainer_model.cpp; native-addon-lists.test checks the two agree on every type).
 */
export function transposedCopyType(type: GgmlType, nOut: number, compact: boolean): GgmlType {
  if (EXACT.has(type)) return type;
  const block = GGML_BLOCK[type];
  if (compact && block && !NEEDS_IMATRIX.has(type) && nOut % block.elements === 0) return type;
  if (nOut % GGML_BLOCK[GgmlType.Q8_0]!.elements === 0) return GgmlType.Q8_0;
  return GgmlType.F16;
}

function transposedBytes(type: GgmlType, nIn: number, nOut: number, compact: boolean): number {
  const t = transposedCopyType(type, nOut, compact);
  return tensorBytes(t, [nOut, nIn]) ?? nIn * nOut * 4;
}

/**
 * `transposedCopies: false` where the step runs in DocTune's CPU GEMM, which reads the stored weights
 * transposed (the CPU with AVX2 or AVX-512): only GPU backends and ggml's CPU path need the copies.
 */
export function estimateStaticMemory(model: GgufFile, rank: number, targets: readonly LoraTarget[], transposedCopies = true): StaticMemory {
  let weights = 0;
  let transposed = 0;
  let transposedCompact = 0;
  let loraParams = 0;
  const byName = new Map(model.tensors.map((t) => [t.name, t]));
  for (const t of model.tensors) weights += t.bytes;
  const matrices: { name: string; trainable: boolean }[] = [];
  const output = byName.get('output.weight') ?? byName.get('token_embd.weight');
  if (output) matrices.push({ name: output.name, trainable: false });
  // Fused matrices (phi3): attn_qkv is adapted when q, k or v is a target; ffn_up holding gate|up when gate or up is.
  const fusedGateUp = !byName.has('blk.0.ffn_gate.weight');
  for (const t of model.tensors) {
    const m = /^blk\.(\d+)\.(attn_q|attn_k|attn_v|attn_qkv|attn_output|ffn_gate|ffn_up|ffn_down)\.weight$/.exec(t.name);
    if (!m) continue;
    const slot = m[2]!;
    const isQkv = slot === 'attn_q' || slot === 'attn_k' || slot === 'attn_v' || slot === 'attn_qkv';
    // The first layer's q, k, v need no transposed copy: nothing trainable lies below them.
    if (!(m[1] === '0' && isQkv)) matrices.push({ name: t.name, trainable: false });
    const adapted = slot === 'attn_qkv' ? targets.some((x) => x === 'attn_q' || x === 'attn_k' || x === 'attn_v')
      : slot === 'ffn_up' && fusedGateUp ? targets.some((x) => x === 'ffn_gate' || x === 'ffn_up')
      : targets.includes(slot as LoraTarget);
    if (adapted) loraParams += rank * ((t.dims[0] ?? 0) + (t.dims[1] ?? 0));
  }
  for (const { name } of transposedCopies ? matrices : []) {
    const t = byName.get(name)!;
    const [nIn = 0, nOut = 1] = t.dims;
    transposed += transposedBytes(t.type, nIn, nOut, false);
    transposedCompact += transposedBytes(t.type, nIn, nOut, true);
  }
  return { weights, transposed, transposedCompact, lora: loraParams * 4, optimizer: loraParams * 12 };
}

export interface LoadDecision {
  compactTransposed: boolean;
  needed: number;
}

/** Whether the model, its transposed copies and the LoRA state fit in `free` bytes; compact copies if needed. */
export function decideLoad(s: StaticMemory, free: number, device: string): LoadDecision {
  const budget = free * (1 - DEVICE_HEADROOM);
  const fixed = s.weights + s.lora + s.optimizer;
  if (fixed + s.transposed <= budget) return { compactTransposed: false, needed: fixed + s.transposed };
  if (fixed + s.transposedCompact <= budget) return { compactTransposed: true, needed: fixed + s.transposedCompact };
  throw new DocTuneError(
    'OUT_OF_MEMORY',
    `the model does not fit on ${device}: base weights ${mib(s.weights)}, transposed copies ${mib(s.transposedCompact)}, ` +
      `LoRA and optimizer ${mib(s.lora + s.optimizer)} = ${mib(fixed + s.transposedCompact)}, but ${mib(free)} are free. ` +
      'Use a smaller or more quantized model (Q4_K), a lower --rank, or another --device.',
  );
}

export const mib = (bytes: number): string => `${Math.round(bytes / MiB).toLocaleString('en')} MiB`;

/** Whether a measured step fits: the step's buffers come on top of what is already allocated. */
export function stepFits(plan: MemoryPlan): boolean {
  return plan.compute <= plan.deviceFree * (1 - DEVICE_HEADROOM);
}

/**
 * Activation checkpointing for a step: forced on or off, or (auto) on only when the step does not fit
 * without it and does with it. `measure(on)` measures the step with checkpointing on or off.
 */
export function chooseCheckpointing(measure: (on: boolean) => MemoryPlan, mode: 'auto' | 'on' | 'off'): { checkpointing: boolean; plan: MemoryPlan } {
  if (mode !== 'auto') return { checkpointing: mode === 'on', plan: measure(mode === 'on') };
  const plain = measure(false);
  if (stepFits(plain)) return { checkpointing: false, plan: plain };
  const recomputed = measure(true);
  return stepFits(recomputed) ? { checkpointing: true, plan: recomputed } : { checkpointing: false, plan: measure(false) };
}

/**
 * The largest step that fits, trying the configured batch with shorter sequences (never below the longest
 * example), then smaller batches: a step's activations grow with batch × seq (and with seq² in attention).
 */
export function proposeSmallerStep(measure: (seq: number, batch: number) => MemoryPlan, seq: number, batch: number, minSeq: number): { seq: number; batch: number } | null {
  for (let b = batch; b >= 1; b = b > 1 ? Math.floor(b / 2) : 0) {
    if (stepFits(measure(seq, b))) return { seq, batch: b };
  }
  for (let s = Math.floor(seq / 2); s >= Math.max(16, minSeq); s = Math.floor(s / 2)) {
    if (stepFits(measure(s, 1))) return { seq: s, batch: 1 };
  }
  return null;
}

export function describePlan(plan: MemoryPlan): string {
  return `weights ${mib(plan.weights)} + transposed ${mib(plan.transposed)} + LoRA ${mib(plan.lora)} + optimizer ${mib(plan.optimizer)} + step ${mib(plan.compute)}; ${mib(plan.deviceFree)} free of ${mib(plan.deviceTotal)}`;
}

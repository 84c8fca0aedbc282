import type { TinyModelShape } from './random-model.js';

/** A tiny random model of one architecture, and the features the trainer must implement for it. */
export interface ArchCase {
  name: string;
  shape: TinyModelShape;
  /** Switched off one at a time (DOCTUNE_TRAINER_ABLATE), each must break agreement with llama.cpp. */
  features: string[];
}

// Uniform weights of half-range 0.3 (std 0.17): large enough that a missing feature moves the probabilities
// by far more than the 1e-3 tolerance (with 1/sqrt(n) weights some hide in float noise).
const W = 0.3;
export const ARCH_CASES: ArchCase[] = [
  {
    name: 'llama 3 (rope_freqs, head size 24 ≠ 64/4)',
    shape: { arch: 'llama', embd: 64, ff: 128, layers: 2, heads: 4, kvHeads: 2, headDim: 24, ropeFactors: true, weightScale: W, randomNorms: true },
    features: ['rope_factors'],
  },
  {
    name: 'qwen3 (q/k norms, head size 32 ≠ 64/4)',
    shape: { arch: 'qwen3', embd: 64, ff: 128, layers: 2, heads: 4, kvHeads: 2, headDim: 32, weightScale: W, randomNorms: true },
    features: ['qk_norm'],
  },
  {
    // Six layers: five local (window 3) and one global, as Gemma 3 interleaves them; RoPE scaled by 8 on the
    // global layer as in Gemma 3 4B.
    name: 'gemma3 (local and global layers, post-norms, GELU, scaled embeddings)',
    shape: { arch: 'gemma3', embd: 64, ff: 128, layers: 6, heads: 4, kvHeads: 1, headDim: 32, slidingWindow: 3, ropeScaling: 8, weightScale: W, randomNorms: true },
    features: ['qk_norm', 'post_norm', 'swa', 'swa_rope', 'rope_scale', 'embd_scale', 'gelu'],
  },
  {
    name: 'phi3 (fused QKV and gate|up, partial RoPE, LongRoPE factors)',
    shape: { arch: 'phi3', embd: 64, ff: 128, layers: 2, heads: 4, kvHeads: 2, rotDim: 12, ropeFactors: true, weightScale: W, randomNorms: true },
    features: ['partial_rope', 'rope_factors', 'attn_factor'],
  },
];


/**
 * TypeScript mirror of the native addon (native/src/*_napi.cpp): its types, and loading it with the
 * location of ggml's backend libraries (node-llama-cpp's prebuilt binaries for this platform).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DocTuneError } from '../errors.js';

/** LoRA targets, in the order of the native DT_TARGET bits. */
export const LORA_TARGETS = ['attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

export function targetBits(targets: readonly LoraTarget[]): number {
  return targets.reduce((bits, t) => bits | (1 << LORA_TARGETS.indexOf(t)), 0);
}

export interface TrainerOptions {
  modelPath: string;
  backendsDir: string;
  rank: number;
  alpha: number;
  /** Bit set from targetBits(). */
  targets: number;
  seed: number;
  threads: number;
}

export interface TrainerInfo {
  arch: string;
  backend: string;
  nVocab: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  nHeadKv: number;
  nFf: number;
  nCtxTrain: number;
  nParams: number;
  nTensors: number;
}

export interface AdamWOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Global gradient-norm clip; 0 turns it off. */
  clip?: number;
  /** Number of loss() calls whose gradients were accumulated. */
  accum?: number;
}

export interface NativeTrainer {
  info(): TrainerInfo;
  /** Trainable tensors in parameter order: "<base>.lora_a" ne=[n_in, r], "<base>.lora_b" ne=[r, n_out]. */
  paramDescs(): { name: string; ne: [number, number] }[];
  getParams(): Float32Array;
  setParams(values: Float32Array): void;
  getGrads(): Float32Array;
  /** Mean cross-entropy over positions with label >= 0; with `grad`, adds to the accumulated gradients. */
  loss(tokens: Int32Array, labels: Int32Array, grad: boolean): Promise<number>;
  /** Logits for every position, position-major (n_tokens × n_vocab). */
  logits(tokens: Int32Array): Promise<Float32Array>;
  /** Applies and clears the accumulated gradients; returns their norm before clipping. */
  adamwStep(options: AdamWOptions): number;
  getOptimizer(): { m: Float32Array; v: Float32Array; step: number };
  setOptimizer(m: Float32Array, v: Float32Array, step: number): void;
  dispose(): void;
}

interface Addon {
  ggmlVersion(): string;
  createTrainer(options: TrainerOptions): Promise<NativeTrainer>;
}

const here = path.dirname(fileURLToPath(import.meta.url));

function repoRoot(): string {
  let dir = here;
  while (!fs.existsSync(path.join(dir, 'native', 'CMakeLists.txt'))) {
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

export function addonPath(): string {
  return process.env.DOCTUNE_NATIVE_ADDON ?? path.join(repoRoot(), 'native', 'build', 'cmake', 'Release', 'doctune_native.node');
}

/** node-llama-cpp's prebuilt ggml for this platform: where the CPU backend variants live. */
export function backendsDir(): string {
  const variant = `${process.platform}-${process.arch}`;
  const require = createRequire(import.meta.url);
  for (const dir of require.resolve.paths('@node-llama-cpp/x') ?? []) {
    const bins = path.join(dir, '@node-llama-cpp', variant, 'bins', variant);
    if (fs.existsSync(bins)) return bins;
  }
  throw new DocTuneError('MODEL', `no ggml binaries for ${variant} (node-llama-cpp's @node-llama-cpp/${variant} package is missing)`);
}

let cached: Addon | null = null;

export function loadAddon(): Addon {
  if (cached) return cached;
  const file = addonPath();
  if (!fs.existsSync(file)) {
    throw new DocTuneError('MODEL', 'the native trainer is not built: run `npm run build:native` (needs CMake and a C++ compiler)', { path: file });
  }
  cached = createRequire(import.meta.url)(file) as Addon;
  return cached;
}

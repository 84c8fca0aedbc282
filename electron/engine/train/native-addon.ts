/**
 * TypeScript mirror of the native addon (native/src/*_napi.cpp): its types, and loading it with the
 * location of ggml's backend libraries (node-llama-cpp's prebuilt binaries for this platform).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DocTuneError } from '../errors.js';
import { DEVICE_CHOICES, LORA_TARGETS, PRECISION_CHOICES, type LoraTarget } from '../../shared/pipeline-schemas.js';

/** LoRA targets, in the order of the native DT_TARGET bits. */
export { LORA_TARGETS, type LoraTarget };

export function targetBits(targets: readonly LoraTarget[]): number {
  return targets.reduce((bits, t) => bits | (1 << LORA_TARGETS.indexOf(t)), 0);
}

/** Where the step runs: auto picks CUDA, then Vulkan or Metal, then the CPU. */
export const DEVICES = DEVICE_CHOICES;
export type DeviceChoice = (typeof DEVICES)[number];

export interface DeviceInfo {
  /** CPU, CUDA, Vulkan or Metal. */
  backend: string;
  /** ggml's device name, e.g. CUDA0. */
  name: string;
  description: string;
  memoryFree: number;
  memoryTotal: number;
}

export interface TrainerOptions {
  modelPath: string;
  /** Folders with ggml's backend libraries (see backendDirs()). */
  backendDirs: string[];
  device?: DeviceChoice;
  rank: number;
  alpha: number;
  /** Bit set from targetBits(). */
  targets: number;
  seed: number;
  threads: number;
  /** Keep the backward's transposed copies of a quantized base in its own type (least memory) rather than Q8_0. */
  compactTransposed?: boolean;
  /**
   * On the CPU, DocTune's GEMM (default, where the processor has AVX2 or AVX-512): it reads the stored
   * weights transposed, so no transposed copies are made. false: ggml's mul_mat with transposed copies.
   */
  cpuMatmul?: boolean;
  /**
   * Operands of the step's matrix products: F32, or F16/BF16 with the products accumulated in F32 (LoRA
   * weights, gradients and AdamW state stay F32). auto (default): what measures fastest on the device.
   */
  precision?: Precision;
}

export const PRECISIONS = PRECISION_CHOICES;
export type Precision = (typeof PRECISIONS)[number];

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
  device: DeviceInfo;
  /** Why a preferred device was not used (missing runtime, no device), or empty. */
  notes: string;
  /** Scheduler splits of the last forward/backward graph: 1 when it ran whole on the device. */
  nSplits: number;
  /** Nodes of any graph run so far that the device could not compute (they fell back to the CPU). */
  nFallbacks: number;
  /** Matrix products run in DocTune's CPU GEMM (no transposed copies of the weights). */
  cpuMatmul: boolean;
  /** The precision in effect (auto resolved). */
  precision: Exclude<Precision, 'auto'>;
  /** How auto chose, or why a requested precision was emulated or fell back; empty otherwise. */
  precisionNote: string;
  /** Activation checkpointing is on (setCheckpointing). */
  checkpointing: boolean;
}

/** Device memory in bytes: what is allocated, and what one training step of the planned shape needs. */
export interface MemoryPlan {
  weights: number;
  transposed: number;
  lora: number;
  optimizer: number;
  compute: number;
  deviceFree: number;
  deviceTotal: number;
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
  /**
   * Mean cross-entropy over positions with label >= 0; with `grad`, adds to the accumulated gradients.
   * With nSeq > 1, tokens and labels hold nSeq sequences of equal length (pad with label -1).
   */
  loss(tokens: Int32Array, labels: Int32Array, grad: boolean, nSeq?: number): Promise<number>;
  /** Logits for every position, position-major (n_tokens × n_vocab). */
  logits(tokens: Int32Array): Promise<Float32Array>;
  /** Applies and clears the accumulated gradients; resolves to their norm before clipping. */
  adamwStep(options: AdamWOptions): Promise<number>;
  /** Memory for a step of nSeq sequences of nTokens; with reserve, allocates it (do this before training). */
  plan(nTokens: number, nSeq: number, reserve: boolean): MemoryPlan;
  getOptimizer(): { m: Float32Array; v: Float32Array; step: number };
  setOptimizer(m: Float32Array, v: Float32Array, step: number): void;
  /**
   * Activation checkpointing: the forward keeps each layer's input only, the backward recomputes the layer
   * (activations of about one layer, about a third more compute; the same gradients). Plan again after.
   */
  setCheckpointing(on: boolean): void;
  /** Times every op of every graph run while on (slower; DOCTUNE_PROFILE=1 turns it on at creation). */
  setProfile(on: boolean): void;
  /** The costliest ops so far, by op and by op with operand types and shapes; `reset` clears the totals. */
  profile(top?: number, reset?: boolean): string;
  dispose(): void;
}

interface Addon {
  ggmlVersion(): string;
  /** What this build trains and where: checked against TRAINABLE_ARCHITECTURES and DEVICE_CHOICES by the tests. */
  readonly supportedArchitectures: readonly string[];
  readonly deviceChoices: readonly string[];
  /** The ggml type the trainer gives the transposed copy of a matrix stored as `type` with rows of nOut values. */
  transposedCopyType(type: number, nOut: number, compact: boolean): number;
  createTrainer(options: TrainerOptions): Promise<NativeTrainer>;
  /** Devices in the backend folders, GPUs first, the CPU last; notes say why a GPU library was unusable. */
  listDevices(backendDirs: string[]): { devices: DeviceInfo[]; notes: string };
  /** ggml's row quantizer: `values` in rows of rowLength, to a GGUF tensor's bytes of the given ggml type. */
  quantize(type: number, values: Float32Array, rowLength: number, threads?: number): Uint8Array;
  /**
   * The trainer's CPU matrix product on its own: out[i, j, k, l] = alpha·Σ_p A[p, i, ..]·B[p, j, k, l] (ggml's
   * ne order), A the stored `a` of aType (or its transpose), B `b` (or its transpose); adds to `accumulate`.
   */
  cpuMatmul(options: CpuMatmulOptions): { out: Float32Array; seconds: number };
  /** The kernel the trainer's CPU products use here: "AVX-512 (BF16)", "AVX-512", "AVX2", or "none" (ggml's mul_mat). */
  cpuMatmulKernel(): string;
  /**
   * This core's peak in FLOP/s for products at a precision (f32: FMA throughput; bf16: BF16 dot products where
   * the CPU has them, else the F32 figure), measured over about `seconds` (0 where there is no kernel).
   */
  cpuPeakFlops(seconds?: number, precision?: 'f32' | 'bf16'): number;
}

export interface CpuMatmulOptions {
  /** Stored bytes of A in aType (F32: a Float32Array). */
  a: Uint8Array | Float32Array;
  aType: number;
  aNe: number[];
  aTransposed?: boolean;
  b: Float32Array;
  bNe: number[];
  bTransposed?: boolean;
  alpha?: number;
  accumulate?: Float32Array;
  threads?: number;
  repeats?: number;
  /** Operands rounded to F16 or BF16 (BF16 in the AVX512-BF16 dot-product kernel where the CPU has it). */
  precision?: Exclude<Precision, 'auto'>;
}

const here = path.dirname(fileURLToPath(import.meta.url));

interface AddonLookup {
  /** The folder to search from, upwards (this module's by default). */
  from?: string;
  exists?: (file: string) => boolean;
  pathApi?: typeof path;
  platform?: string;
  arch?: string;
}

/**
 * The built addon, found from this module upwards: this platform's prebuild (what the app ships), then the
 * build output; in the repository when run from source or dist/, in the app folder when packaged (native
 * files sit in app.asar.unpacked beside the asar).
 */
export function addonPath(o: AddonLookup = {}): string {
  if (process.env.DOCTUNE_NATIVE_ADDON) return process.env.DOCTUNE_NATIVE_ADDON;
  const p = o.pathApi ?? path;
  const exists = o.exists ?? fs.existsSync;
  const candidates = [
    p.join('native', 'prebuilds', `${o.platform ?? process.platform}-${o.arch ?? process.arch}`, 'doctune_native.node'),
    p.join('native', 'build', 'cmake', 'Release', 'doctune_native.node'),
  ];
  for (let dir = o.from ?? here; ; dir = p.dirname(dir)) {
    for (const base of [dir.replace(/app\.asar(?=$|[\\/])/, 'app.asar.unpacked'), dir]) {
      for (const rel of candidates) if (exists(p.join(base, rel))) return p.join(base, rel);
    }
    if (p.dirname(dir) === dir) return p.join(process.cwd(), candidates[0]!);
  }
}

const PLATFORM_NAMES: Partial<Record<NodeJS.Platform, string>> = { linux: 'linux', darwin: 'mac', win32: 'win' };

/**
 * node-llama-cpp's prebuilt ggml for this platform: the CPU package (CPU variants), and the GPU packages
 * that are installed (-cuda with its CUDA 12 fallback in -cuda-ext, -vulkan, -metal). Missing ones are skipped.
 */
export function backendDirs(): string[] {
  const base = `${PLATFORM_NAMES[process.platform] ?? process.platform}-${process.arch}`;
  const require = createRequire(import.meta.url);
  const roots = require.resolve.paths('@node-llama-cpp/x') ?? [];
  const found: string[] = [];
  const candidates: [pkg: string, bins: string][] = [
    [base, base],
    [`${base}-cuda`, `${base}-cuda`],
    [`${base}-cuda-ext`, path.join(`${base}-cuda`, 'fallback')],
    [`${base}-vulkan`, `${base}-vulkan`],
    [`${base}-metal`, `${base}-metal`],
  ];
  for (const [pkg, bins] of candidates) {
    for (const root of roots) {
      const dir = path.join(root, '@node-llama-cpp', pkg, 'bins', bins);
      if (fs.existsSync(dir)) {
        found.push(dir);
        break;
      }
    }
  }
  if (!found.length) throw new DocTuneError('MODEL', `no ggml binaries for ${base} (node-llama-cpp's @node-llama-cpp/${base} package is missing)`);
  return found;
}

let cached: Addon | null = null;

export function loadAddon(): Addon {
  if (cached) return cached;
  const file = addonPath();
  if (!fs.existsSync(file)) {
    throw new DocTuneError('MODEL', 'the native trainer is not built: run `npm run build:native` (needs CMake and a C++ compiler)', { path: file });
  }
  // Windows has no rpath: the loader finds ggml-base.dll through PATH (node loads addons with the altered search path).
  if (process.platform === 'win32') process.env.PATH = `${backendDirs()[0]}${path.delimiter}${process.env.PATH ?? ''}`;
  cached = createRequire(import.meta.url)(file) as Addon;
  return cached;
}

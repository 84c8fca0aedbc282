/**
 * The trainer's CPU matrix product (native/src/trainer_cpu_matmul.cpp) against a float64 reference, on the
 * layouts the training step uses (plain, transposed operands, batched with broadcast), on sizes that leave
 * partial register tiles and cross its cache blocks (K > 256, N > 1024), in several threads, with scaling
 * and accumulation, and with the stored matrix in quantized types (dequantized by the project's own code).
 */
import { describe, expect, it } from 'vitest';
import { GgmlType } from '../models/gguf/gguf-types.js';
import { dequantize, fromF16, quantize, toF16 } from '../models/gguf/quantize.js';
import { randomF32, rng } from '../testing/random-model.js';
import { loadAddon } from './native-addon.js';

const addon = loadAddon();
const kernel = addon.cpuMatmulKernel();

interface Case {
  M: number;
  N: number;
  K: number;
  batch?: [number, number];      // A's and B's third dimension (B's must be a multiple of A's)
  aT?: boolean;
  bT?: boolean;
  alpha?: number;
  acc?: boolean;
  threads?: number;
  type?: GgmlType;
  precision?: 'f16' | 'bf16';
}

/** x rounded to BF16 (to nearest even) or F16, as the product takes its operands at reduced precision. */
function rounded(p: 'f16' | 'bf16' | undefined, x: Float32Array): Float32Array {
  if (!p) return x;
  if (p === 'f16') return x.map((v) => fromF16(toF16(v)));
  const u = new Uint32Array(Float32Array.from(x).buffer);
  return new Float32Array(u.map((bits) => ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) << 16).buffer);
}

/** ref[i + M*(j + N*k)] = alpha·Σ_p A(i, p)·B(p, j) (+ acc), in float64, from A's dequantized values. */
function reference(c: Case, a: Float32Array, b: Float32Array, acc: Float32Array | null): Float64Array {
  const [ba, bb] = c.batch ?? [1, 1];
  const out = new Float64Array(c.M * c.N * bb);
  for (let k = 0; k < bb; k++) {
    const ka = Math.floor(k / (bb / ba));
    for (let j = 0; j < c.N; j++) {
      for (let i = 0; i < c.M; i++) {
        let s = 0;
        for (let p = 0; p < c.K; p++) {
          // stored A: aT ? ne = [M, K] (element (i, p) at i + M·p) : ne = [K, M] (at p + K·i)
          const av = c.aT ? a[ka * c.M * c.K + i + c.M * p]! : a[ka * c.M * c.K + p + c.K * i]!;
          const bv = c.bT ? b[k * c.N * c.K + j + c.N * p]! : b[k * c.N * c.K + p + c.K * j]!;
          s += av * bv;
        }
        const o = i + c.M * (j + c.N * k);
        out[o] = (c.alpha ?? 1) * s + (acc ? acc[o]! : 0);
      }
    }
  }
  return out;
}

function run(c: Case, seed: number): { got: Float32Array; want: Float64Array } {
  const next = rng(seed);
  const [ba, bb] = c.batch ?? [1, 1];
  const type = c.type ?? GgmlType.F32;
  const values = randomF32(c.M * c.K * ba, 1, next);
  const aNe = c.aT ? [c.M, c.K, ba] : [c.K, c.M, ba];
  const stored = type === GgmlType.F32 ? null : quantize(type, values);
  const a = stored ? dequantize(type, stored, values.length) : values;
  const b = randomF32(c.N * c.K * bb, 1, next);
  const acc = c.acc ? randomF32(c.M * c.N * bb, 1, next) : null;
  const { out } = addon.cpuMatmul({
    a: stored ?? values, aType: type, aNe, aTransposed: c.aT, b, bNe: c.bT ? [c.N, c.K, bb] : [c.K, c.N, bb], bTransposed: c.bT,
    alpha: c.alpha, accumulate: acc ?? undefined, threads: c.threads ?? 1, precision: c.precision,
  });
  return { got: out, want: reference(c, rounded(c.precision, a), rounded(c.precision, b), acc) };
}

function relError(got: Float32Array, want: Float64Array): number {
  let num = 0;
  let den = 0;
  want.forEach((w, i) => {
    num += (got[i]! - w) ** 2;
    den += w * w;
  });
  return Math.sqrt(num / den);
}

describe.skipIf(kernel === 'none')(`CPU matrix product (${kernel})`, () => {
  const cases: [string, Case][] = [
    ['one element', { M: 1, N: 1, K: 1 }],
    ['partial tiles in M and N', { M: 37, N: 13, K: 29 }],
    ['W·x of a layer', { M: 96, N: 64, K: 80 }],
    ['K across cache blocks', { M: 40, N: 30, K: 700 }],
    ['N across cache blocks', { M: 33, N: 1100, K: 20 }],
    ['transposed A (Wᵀ·dy)', { M: 70, N: 50, K: 90, aT: true }],
    ['transposed B', { M: 21, N: 45, K: 33, bT: true }],
    ['both transposed (outer product)', { M: 16, N: 75, K: 130, aT: true, bT: true }],
    ['batched with broadcast (grouped heads)', { M: 24, N: 20, K: 16, batch: [2, 6] }],
    ['scaled and accumulated', { M: 50, N: 40, K: 60, alpha: 0.25, acc: true }],
    ['three threads, tall', { M: 300, N: 7, K: 50, threads: 3 }],
    ['two threads, wide', { M: 20, N: 500, K: 50, threads: 2 }],
    ['two threads, batched', { M: 30, N: 30, K: 30, batch: [3, 3], threads: 2 }],
  ];
  cases.forEach(([name, c], i) => {
    it(`F32: ${name} (M ${c.M}, N ${c.N}, K ${c.K})`, () => {
      const { got, want } = run(c, 100 + i);
      expect(relError(got, want)).toBeLessThan(1e-6);
    });
  });

  // A stored matrix in its GGUF type, as the step reads the frozen weights: W·x (rows along K) and Wᵀ·dy
  // (rows along M, dequantized in 256-wide ranges: M = 512 crosses one).
  for (const type of [GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_K]) {
    it(`${GgmlType[type]}: W·x and Wᵀ·dy, over two threads`, () => {
      const plain = run({ M: 48, N: 40, K: 512, type, threads: 2 }, 7);
      expect(relError(plain.got, plain.want)).toBeLessThan(1e-6);
      const transposed = run({ M: 512, N: 40, K: 48, type, aT: true, threads: 2 }, 8);
      expect(relError(transposed.got, transposed.want)).toBeLessThan(1e-6);
    });
  }

  // The stored matrix times the identity is the matrix as the product reads it: the project's own dequantizer
  // gives exactly the same values for Q8_0 and Q4_K; for the other types of Q4_K_M/Q5_K_M/Q4_0 files the
  // values come back within their quantization error (a wrong bit layout would not), along rows and along
  // columns alike.
  const identity = (n: number): Float32Array => Float32Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
  for (const [type, tolerance] of [[GgmlType.Q8_0, 0], [GgmlType.Q4_K, 0], [GgmlType.Q4_0, 0.12], [GgmlType.Q5_0, 0.06], [GgmlType.Q5_K, 0.05], [GgmlType.Q6_K, 0.02]] as const) {
    it(`${GgmlType[type]}: dequantizes as stored, along rows and columns`, () => {
      const K = 256;
      const M = 48;
      const values = randomF32(M * K, 1, rng(type));
      const stored = addon.quantize(type, values, K);
      const rows = addon.cpuMatmul({ a: stored, aType: type, aNe: [K, M], b: identity(K), bNe: [K, K], threads: 2 }).out;       // [M, K]: A(m, k) at m + M·k
      const cols = addon.cpuMatmul({ a: stored, aType: type, aNe: [K, M], aTransposed: true, b: identity(M), bNe: [M, M] }).out; // [K, M]: W(k, m) at k + K·m
      const asStored = Float32Array.from({ length: M * K }, (_, i) => rows[Math.floor(i / K) + M * (i % K)]!);  // back to W's layout
      expect(Array.from(cols)).toEqual(Array.from(asStored));
      if (tolerance === 0) {
        expect(Array.from(asStored)).toEqual(Array.from(dequantize(type, stored, M * K)));
      } else {
        expect(relError(asStored, Float64Array.from(values))).toBeLessThan(tolerance);
      }
    });
  }

  // Reduced precision: operands rounded to F16/BF16, products accumulated in F32 (BF16 pairs in the
  // AVX512-BF16 kernel where the CPU has it: an odd K pairs the last row with zero).
  for (const precision of ['f16', 'bf16'] as const) {
    const rp: [string, Case][] = [
      ['odd K', { M: 37, N: 29, K: 33, precision }],
      ['K across cache blocks, odd remainder', { M: 40, N: 30, K: 301, precision }],
      ['transposed A, rank-sized M', { M: 16, N: 50, K: 90, aT: true, precision }],
      ['batched, scaled, accumulated, two threads', { M: 24, N: 20, K: 16, batch: [2, 4], alpha: 0.5, acc: true, threads: 2, precision }],
      ['Q8_0 weight', { M: 48, N: 40, K: 256, type: GgmlType.Q8_0, precision }],
    ];
    rp.forEach(([name, c], i) => {
      it(`${precision}: ${name} equals the product of the rounded operands`, () => {
        const { got, want } = run(c, 300 + i);
        expect(relError(got, want)).toBeLessThan(1e-6);
      });
    });
  }

  it('refuses operands that do not match, naming the problem', () => {
    const b = new Float32Array(8);
    expect(() => addon.cpuMatmul({ a: new Float32Array(6), aType: GgmlType.F32, aNe: [3, 2], b, bNe: [4, 2] })).toThrow(/shapes do not match/);
    expect(() => addon.cpuMatmul({ a: new Float32Array(5), aType: GgmlType.F32, aNe: [3, 2], b, bNe: [3, 2] })).toThrow(/does not hold/);
    expect(() => addon.cpuMatmul({ a: new Uint8Array(34), aType: GgmlType.Q8_0, aNe: [16, 1], b, bNe: [16, 1] })).toThrow(/does not hold/);
  });

  it('measures a peak above what the product achieves', () => {
    const peak = addon.cpuPeakFlops(0.2);
    const c: Case = { M: 256, N: 256, K: 256 };
    const next = rng(1);
    const { seconds } = addon.cpuMatmul({ a: randomF32(c.M * c.K, 1, next), aType: 0, aNe: [c.K, c.M], b: randomF32(c.K * c.N, 1, next), bNe: [c.K, c.N], repeats: 3 });
    const achieved = (2 * c.M * c.N * c.K) / seconds;
    expect(peak).toBeGreaterThan(1e9);
    // Both are timed on a machine other tests share: a margin for their noise, far below what a wrong count
    // of lanes or FMA units would give.
    expect(achieved).toBeLessThan(peak * 1.5);
    expect(achieved).toBeGreaterThan(peak * 0.05);
  });
});

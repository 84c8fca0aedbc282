import path from 'node:path';
import { getLlama, LlamaLogLevel, type Llama } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readGguf, type GgufFile } from '../models/gguf/gguf-reader.js';
import { writeLoraAdapter } from '../models/lora-adapter.js';
import { adapterFromParams, packBatch } from './train-loop.js';
import { tempDir, TINY_MODEL } from '../testing/corpus.js';
import { GgmlType } from '../models/gguf/gguf-types.js';
import { dequantize, quantize } from '../models/gguf/quantize.js';
import { readTensorData } from '../models/gguf/gguf-reader.js';
import { writeGguf } from '../models/gguf/gguf-writer.js';
import { randomF32, rng, writeQuantizedCopy, writeRandomModel } from '../testing/random-model.js';
import { maxProbabilityDifference } from '../testing/llama-reference.js';
import { backendDirs, loadAddon, targetBits, LORA_TARGETS, type NativeTrainer } from './native-addon.js';

const ALL = targetBits(LORA_TARGETS);

/** On the CPU, in F32; `cpuMatmul: false` takes ggml's mul_mat with transposed weight copies (the GPUs' path). */
async function makeTrainer(modelPath: string, rank = 4, alpha = 8, compactTransposed = false, cpuMatmul = true): Promise<NativeTrainer> {
  return loadAddon().createTrainer({ modelPath, backendDirs: backendDirs(), device: 'cpu', rank, alpha, targets: ALL, seed: 7, threads: 1, compactTransposed, cpuMatmul, precision: 'f32' });
}

/** Give B non-zero values too (at init B = 0, so the gradient of A vanishes and the check would be empty). */
function randomiseParams(t: NativeTrainer, seed: number): Float32Array {
  const next = rng(seed);
  const p = randomF32(t.info().nParams, 0.1, next);
  t.setParams(p);
  return p;
}

describe('native LoRA trainer (CPU)', () => {
  let llama: Llama;
  const dir = tempDir('trainer');
  const models: { name: string; file: () => Promise<GgufFile> }[] = [
    { name: 'stories260K', file: () => readGguf(TINY_MODEL) },
    { name: 'random GQA llama', file: () => writeRandomModel(path.join(dir, 'random.gguf'), TINY_MODEL, { embd: 32, ff: 64, layers: 2, heads: 4, kvHeads: 2 }, 3) },
    { name: 'random qwen2 with q, k, v biases', file: () => writeRandomModel(path.join(dir, 'qwen2.gguf'), TINY_MODEL, { arch: 'qwen2', embd: 64, ff: 128, layers: 2, heads: 4, kvHeads: 2 }, 5) },
  ];
  // Bases that stay in their GGUF type: the forward must match llama.cpp on the very same quantized file.
  const quantized: { name: string; type: GgmlType }[] = [
    { name: 'F16', type: GgmlType.F16 },
    { name: 'BF16', type: GgmlType.BF16 },
    { name: 'Q8_0', type: GgmlType.Q8_0 },
    { name: 'Q4_K', type: GgmlType.Q4_K },
  ];
  for (const q of quantized) {
    models.push({
      name: `random llama with ${q.name} weights`,
      file: async () => {
        // Q4_K packs rows in super-blocks of 256.
        const f32 = await writeRandomModel(path.join(dir, `f32-for-${q.name}.gguf`), TINY_MODEL, { embd: 256, ff: 512, layers: 2, heads: 4, kvHeads: 2 }, 9);
        return writeQuantizedCopy(path.join(dir, `${q.name}.gguf`), f32, q.type, quantize);
      },
    });
  }

  beforeAll(async () => {
    llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, logger: () => undefined });
  });
  afterAll(() => llama?.dispose());

  it('runs on the ggml that node-llama-cpp ships', () => {
    expect(loadAddon().ggmlVersion()).toMatch(/^\d+\.\d+\.\d+/);
  });

  for (const m of models) {
    // Finite differences through a reduced-precision base are noise (ggml converts the activations to the
    // weights' type as well): those bases are checked against their dequantized F32 twin below instead.
    if (!/with (F16|BF16|Q8_0|Q4_K) weights/.test(m.name)) it(`${m.name}: analytic LoRA gradients match central finite differences`, async () => {
      const base = await m.file();
      const t = await makeTrainer(base.path);
      try {
        const p = randomiseParams(t, 11);
        const tokens = new Int32Array([1, 403, 407, 261, 378, 432, 290, 301]);
        const labels = new Int32Array([403, 407, 261, 378, 432, 290, 301, -1]);
        await t.loss(tokens, labels, true);
        const grad = t.getGrads();
        // Check the largest gradient entries of several tensors (relative error on tiny entries is noise).
        const order = [...grad.keys()].sort((i, j) => Math.abs(grad[j]!) - Math.abs(grad[i]!)).slice(0, 12);
        const eps = 1e-2;
        for (const i of order) {
          const orig = p[i]!;
          p[i] = orig + eps;
          t.setParams(p);
          const up = await t.loss(tokens, labels, false);
          p[i] = orig - eps;
          t.setParams(p);
          const down = await t.loss(tokens, labels, false);
          p[i] = orig;
          t.setParams(p);
          const numeric = (up - down) / (2 * eps);
          expect(Math.abs(numeric - grad[i]!) / Math.max(Math.abs(grad[i]!), 1e-3), `param ${i}`).toBeLessThan(1e-2);
        }
        await t.adamwStep({ lr: 0 }); // clears the accumulated gradients
      } finally {
        t.dispose();
      }
    });

    it(`${m.name}: the trainer's forward with an adapter equals llama.cpp loading the written adapter`, async () => {
      const base = await m.file();
      const t = await makeTrainer(base.path, 4, 8);
      try {
        randomiseParams(t, 5);
        const adapterPath = path.join(dir, `${m.name.replace(/\W+/g, '-')}-trained.gguf`);
        await writeLoraAdapter(adapterPath, base, adapterFromParams(t, 4, 8));
        const tokens = [403, 407, 261, 378];
        const logits = await t.logits(new Int32Array(tokens));
        const maxDiff = await maxProbabilityDifference(llama, base.path, adapterPath, tokens, logits, t.info().nVocab);
        expect(maxDiff).toBeLessThan(1e-3);
      } finally {
        t.dispose();
      }
    });
  }

  // DocTune's CPU GEMM dequantizes the stored weights exactly, forward and backward. ggml's mul_mat (the GPUs'
  // path, tried here on the CPU) rounds the activations to the weights' type and multiplies the backward by
  // transposed copies of the frozen weights: Q8_0 by default, or the base's own type (compact), which rounds
  // a second time.
  const gemm = loadAddon().cpuMatmulKernel() !== 'none';
  const variants = [
    ...quantized.filter(() => gemm).map((q) => ({ ...q, compact: false, cpuMatmul: true })),
    ...quantized.map((q) => ({ ...q, compact: false, cpuMatmul: false })),
    { name: 'Q4_K', type: GgmlType.Q4_K, compact: true, cpuMatmul: false },
  ];
  for (const q of variants) {
    const how = q.cpuMatmul ? "DocTune's CPU GEMM" : q.compact ? "ggml's mul_mat, compact transposes" : "ggml's mul_mat";
    it(`${q.name} base (${how}): gradients agree with the same weights dequantized to F32`, async () => {
      const quant = await readGguf(path.join(dir, `${q.name}.gguf`));
      const replaced = new Map<string, Float32Array>();
      const f32Tensors = await Promise.all(
        quant.tensors.map(async (t) => {
          const raw = await readTensorData(quant, t.name);
          const n = t.dims.reduce((a, b) => a * b, 1);
          const values = dequantize(t.type, raw, n);
          replaced.set(t.name, values);
          return { name: t.name, dims: t.dims, type: GgmlType.F32, data: new Uint8Array(values.buffer) };
        }),
      );
      const twinPath = path.join(dir, `${q.name}-${q.compact}-${q.cpuMatmul}-dequantized.gguf`);
      await writeGguf(twinPath, { metadata: quant.metadata, tensors: f32Tensors });
      const grads: Float32Array[] = [];
      for (const file of [quant.path, twinPath]) {
        const t = await makeTrainer(file, 4, 8, q.compact, q.cpuMatmul);
        try {
          randomiseParams(t, 21);
          await t.loss(new Int32Array([1, 403, 407, 261, 378, 432]), new Int32Array([403, 407, 261, 378, 432, -1]), true);
          grads.push(t.getGrads());
        } finally {
          t.dispose();
        }
      }
      let num = 0;
      let den = 0;
      grads[0]!.forEach((g, i) => {
        num += (g - grads[1]![i]!) ** 2;
        den += grads[1]![i]! ** 2;
      });
      expect(Math.sqrt(num / den)).toBeLessThan(q.cpuMatmul ? 1e-5 : q.type === GgmlType.F16 ? 5e-3 : q.compact ? 1e-1 : 4e-2);
    });
  }

  it.skipIf(!gemm)("DocTune's CPU GEMM gives ggml's F32 gradients and loss (every model above)", async () => {
    const packed = packBatch([
      { tokens: [1, 403, 407, 261, 378, 432, 290], labels: [403, 407, 261, 378, 432, 290, -1] },
      { tokens: [1, 300, 310, 320], labels: [300, 310, 320, -1] },
    ], 64);
    for (const m of models.filter((x) => !/with (F16|BF16|Q8_0|Q4_K) weights/.test(x.name))) {
      const base = await m.file();
      const out: { loss: number; grads: Float32Array }[] = [];
      for (const cpuMatmul of [true, false]) {
        const t = await makeTrainer(base.path, 4, 8, false, cpuMatmul);
        try {
          expect(t.info().cpuMatmul).toBe(cpuMatmul);
          randomiseParams(t, 13);
          const loss = await t.loss(packed.tokens, packed.labels, true, 2);
          out.push({ loss, grads: t.getGrads() });
        } finally {
          t.dispose();
        }
      }
      let num = 0;
      let den = 0;
      out[0]!.grads.forEach((g, i) => {
        num += (g - out[1]!.grads[i]!) ** 2;
        den += out[1]!.grads[i]! ** 2;
      });
      expect(den, m.name).toBeGreaterThan(0);
      expect(Math.sqrt(num / den), m.name).toBeLessThan(1e-4);
      expect(Math.abs(out[0]!.loss - out[1]!.loss) / out[1]!.loss, m.name).toBeLessThan(1e-5);
    }
  });

  it('activation checkpointing gives the same loss and gradients from a smaller step (CPU GEMM and ggml path)', async () => {
    const packed = packBatch([
      { tokens: [1, 403, 407, 261, 378, 432, 290, 301, 302, 310], labels: [403, 407, 261, 378, 432, 290, 301, 302, 310, -1] },
      { tokens: [1, 300, 310, 320], labels: [300, 310, 320, -1] },
    ], 64);
    for (const m of models.slice(0, 3)) {
      for (const cpuMatmul of gemm ? [true, false] : [false]) {
        const base = await m.file();
        const t = await makeTrainer(base.path, 4, 8, false, cpuMatmul);
        try {
          randomiseParams(t, 17);
          const runs: { loss: number; grads: Float32Array; compute: number }[] = [];
          for (const on of [false, true]) {
            t.setCheckpointing(on);
            expect(t.info().checkpointing).toBe(on);
            const compute = t.plan(256, 4, false).compute;
            const loss = await t.loss(packed.tokens, packed.labels, true, 2);
            runs.push({ loss, grads: t.getGrads(), compute });
            await t.adamwStep({ lr: 0 }); // clears the accumulated gradients
          }
          const [plain, ck] = runs as [(typeof runs)[0], (typeof runs)[0]];
          expect(ck.loss, m.name).toBe(plain.loss);
          let maxDiff = 0;
          ck.grads.forEach((g, i) => (maxDiff = Math.max(maxDiff, Math.abs(g - plain.grads[i]!))));
          expect(maxDiff, `${m.name}, ${cpuMatmul ? 'CPU GEMM' : 'ggml'}`).toBe(0);
          expect(ck.compute, m.name).toBeLessThan(plain.compute);
        } finally {
          t.dispose();
        }
      }
    }
  });

  it("the portable backward (only ops every backend has, as on Metal) equals the one with ggml's fused ops", async () => {
    const packed = packBatch([
      { tokens: [1, 403, 407, 261, 378, 432, 290], labels: [403, 407, 261, 378, 432, 290, -1] },
      { tokens: [1, 300, 310, 320], labels: [300, 310, 320, -1] },
    ], 64);
    const grads: Float32Array[] = [];
    for (const portable of ['1', '']) {
      process.env.DOCTUNE_PORTABLE_BACKWARD = portable;
      const t = await makeTrainer(path.join(dir, 'random.gguf'));
      try {
        randomiseParams(t, 8);
        await t.loss(packed.tokens, packed.labels, true, 2);
        grads.push(t.getGrads());
      } finally {
        t.dispose();
        delete process.env.DOCTUNE_PORTABLE_BACKWARD;
      }
    }
    let num = 0;
    let den = 0;
    grads[0]!.forEach((g, i) => {
      num += (g - grads[1]![i]!) ** 2;
      den += grads[1]![i]! ** 2;
    });
    expect(den).toBeGreaterThan(0);
    expect(Math.sqrt(num / den)).toBeLessThan(1e-5);
  });

  it('a padded batch equals its sequences one by one (token-weighted loss and gradients)', async () => {
    const examples = [
      { tokens: [1, 403, 407, 261, 378, 432, 290, 301, 302, 310], labels: [-1, -1, 261, 378, 432, 290, 301, 302, 310, -1] },
      { tokens: [1, 300, 310, 320, 330], labels: [300, 310, 320, 330, -1] },
    ];
    const t = await makeTrainer(TINY_MODEL);
    try {
      randomiseParams(t, 3);
      const single: { loss: number; grad: Float32Array; n: number }[] = [];
      for (const e of examples) {
        const loss = await t.loss(Int32Array.from(e.tokens), Int32Array.from(e.labels), true);
        single.push({ loss, grad: t.getGrads(), n: e.labels.filter((l) => l >= 0).length });
        await t.adamwStep({ lr: 0 }); // clears the gradients, leaves the parameters
      }
      const packed = packBatch(examples, 64);
      expect(packed.length).toBe(16); // rounded up to a multiple of 16
      const loss = await t.loss(packed.tokens, packed.labels, true, 2);
      const grad = t.getGrads();
      const n = single[0]!.n + single[1]!.n;
      expect(loss).toBeCloseTo((single[0]!.loss * single[0]!.n + single[1]!.loss * single[1]!.n) / n, 4);
      let num = 0;
      let den = 0;
      grad.forEach((g, i) => {
        const want = (single[0]!.grad[i]! * single[0]!.n + single[1]!.grad[i]! * single[1]!.n) / n;
        num += (g - want) ** 2;
        den += want ** 2;
      });
      expect(Math.sqrt(num / den)).toBeLessThan(1e-4);
      expect(t.info().nSplits).toBe(1);
      expect(t.info().nFallbacks).toBe(0);
    } finally {
      t.dispose();
    }
  });

  it('starts as the base model (B = 0) and learns a sequence with AdamW', async () => {
    const t = await makeTrainer(TINY_MODEL, 8, 16);
    try {
      const tokens = new Int32Array([1, 300, 310, 320, 330, 340, 350, 360]);
      const labels = new Int32Array([300, 310, 320, 330, 340, 350, 360, -1]);
      const first = await t.loss(tokens, labels, true);
      await t.adamwStep({ lr: 1e-2, clip: 1 });
      let loss = first;
      for (let step = 0; step < 40; step++) {
        loss = await t.loss(tokens, labels, true);
        await t.adamwStep({ lr: 1e-2, clip: 1 });
      }
      expect(loss).toBeLessThan(first * 0.1);
      const opt = t.getOptimizer();
      expect(opt.step).toBe(41);
    } finally {
      t.dispose();
    }
  });

  it('refuses what it cannot train, with the reason', async () => {
    const addon = loadAddon();
    await expect(addon.createTrainer({ modelPath: path.join(dir, 'missing.gguf'), backendDirs: backendDirs(), device: 'cpu', rank: 4, alpha: 8, targets: ALL, seed: 1, threads: 1 })).rejects.toThrow(/cannot read GGUF/);
    await expect(makeTrainer(TINY_MODEL, 0)).rejects.toThrow(/rank must be positive/);
    const t = await makeTrainer(TINY_MODEL);
    try {
      await expect(t.loss(new Int32Array([1, 2]), new Int32Array([-1, -1]), true)).rejects.toThrow(/all labels masked/);
      await expect(t.loss(new Int32Array([1, 99999]), new Int32Array([2, 3]), true)).rejects.toThrow(/token id out of range/);
    } finally {
      t.dispose();
    }
  });
});

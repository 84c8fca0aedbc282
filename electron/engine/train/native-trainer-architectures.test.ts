/**
 * The evidence for each architecture beyond llama 2 and qwen2 (qwen3, gemma3, phi3, llama with Llama 3's
 * rope_freqs and a head size that is not n_embd / n_head): analytic gradients against central finite
 * differences; the trainer's forward with an adapter against llama.cpp loading the written adapter, with
 * weights large enough that every architectural feature matters — switching each feature off in the trainer
 * (DOCTUNE_TRAINER_ABLATE) must break the agreement; memorisation checked by llama.cpp's greedy decoding with
 * the adapter; Q8_0 and Q4_K bases against their dequantized F32 twins.
 */
import path from 'node:path';
import { getLlama, LlamaLogLevel, type Llama, type Token } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTensorData, type GgufFile } from '../models/gguf/gguf-reader.js';
import { GgmlType } from '../models/gguf/gguf-types.js';
import { gguf, writeGguf } from '../models/gguf/gguf-writer.js';
import { dequantize, quantize } from '../models/gguf/quantize.js';
import { writeLoraAdapter } from '../models/lora-adapter.js';
import { tempDir, TINY_MODEL } from '../testing/corpus.js';
import { maxProbabilityDifference } from '../testing/llama-reference.js';
import { ARCH_CASES, type ArchCase } from '../testing/arch-cases.js';
import { relativeL2 } from '../testing/precision-runs.js';
import { randomF32, rng, writeQuantizedCopy, writeRandomModel, writeWithMetadata, type TinyModelShape } from '../testing/random-model.js';
import { backendDirs, loadAddon, targetBits, LORA_TARGETS, type NativeTrainer } from './native-addon.js';
import { adapterFromParams, packBatch } from './train-loop.js';

const ALL = targetBits(LORA_TARGETS);

async function makeTrainer(modelPath: string, rank = 4, alpha = 8, cpuMatmul?: boolean): Promise<NativeTrainer> {
  return loadAddon().createTrainer({ modelPath, backendDirs: backendDirs(), device: 'cpu', rank, alpha, targets: ALL, seed: 7, threads: 1, precision: 'f32', ...(cpuMatmul === undefined ? {} : { cpuMatmul }) });
}

function randomiseParams(t: NativeTrainer, seed: number, scale = 0.1): Float32Array {
  const p = randomF32(t.info().nParams, scale, rng(seed));
  t.setParams(p);
  return p;
}

/** Longer than gemma3's window, so local and global layers see different keys. */
const TOKENS = [1, 403, 407, 261, 378, 432, 290, 301, 302, 310];

describe('native LoRA trainer: architectures', () => {
  let llama: Llama;
  const dir = tempDir('arch');
  const files = new Map<string, GgufFile>();
  const model = async (c: ArchCase, i: number): Promise<GgufFile> => {
    if (!files.has(c.name)) files.set(c.name, await writeRandomModel(path.join(dir, `${c.shape.arch}.gguf`), TINY_MODEL, c.shape, 30 + i));
    return files.get(c.name)!;
  };

  beforeAll(async () => {
    llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, logger: () => undefined });
  });
  afterAll(() => llama?.dispose());

  ARCH_CASES.forEach((c, i) => {
    it(`${c.name}: analytic LoRA gradients match central finite differences`, async () => {
      const base = await model(c, i);
      // ggml's CPU GELU reads an F16 table (steps of ~1e-3): finite differences check its derivative on GELU
      // computed in F32; the forward test below runs the table, as llama.cpp does.
      process.env.DOCTUNE_TRAINER_ABLATE = 'gelu_table';
      const t = await makeTrainer(base.path);
      delete process.env.DOCTUNE_TRAINER_ABLATE;
      try {
        const p = randomiseParams(t, 11, 0.05);
        const tokens = new Int32Array(TOKENS);
        const labels = new Int32Array([...TOKENS.slice(1), -1]);
        await t.loss(tokens, labels, true);
        const grad = t.getGrads();
        // Spread the check over every LoRA tensor: the largest entry of each (tiny entries' relative error is noise).
        const descs = t.paramDescs();
        const picks: { j: number; name: string }[] = [];
        let off = 0;
        for (const d of descs) {
          const n = d.ne[0] * d.ne[1];
          let best = off;
          for (let j = off; j < off + n; j++) if (Math.abs(grad[j]!) > Math.abs(grad[best]!)) best = j;
          if (Math.abs(grad[best]!) > 1e-4) picks.push({ j: best, name: d.name });
          off += n;
        }
        expect(picks.length).toBeGreaterThan(descs.length / 2);
        const eps = 1e-2;
        for (const { j, name } of picks) {
          const orig = p[j]!;
          p[j] = orig + eps;
          t.setParams(p);
          const up = await t.loss(tokens, labels, false);
          p[j] = orig - eps;
          t.setParams(p);
          const down = await t.loss(tokens, labels, false);
          p[j] = orig;
          t.setParams(p);
          const numeric = (up - down) / (2 * eps);
          expect(Math.abs(numeric - grad[j]!) / Math.max(Math.abs(grad[j]!), 1e-3), `${name} [${j}]`).toBeLessThan(1e-2);
        }
        await t.adamwStep({ lr: 0 });
      } finally {
        t.dispose();
      }
    });

    it(`${c.name}: the forward with an adapter equals llama.cpp's, and fails without each feature`, async () => {
      const base = await model(c, i);
      const errors: Record<string, number> = {};
      for (const feature of ['', ...c.features]) {
        process.env.DOCTUNE_TRAINER_ABLATE = feature;
        const t = await makeTrainer(base.path, 4, 8);
        try {
          randomiseParams(t, 5);
          const adapterPath = path.join(dir, `${c.shape.arch}-${feature || 'all'}-${Date.now()}.gguf`);
          await writeLoraAdapter(adapterPath, base, adapterFromParams(t, 4, 8));
          const logits = await t.logits(new Int32Array(TOKENS));
          errors[feature || 'all features'] = await maxProbabilityDifference(llama, base.path, adapterPath, TOKENS, logits, t.info().nVocab);
        } finally {
          t.dispose();
          delete process.env.DOCTUNE_TRAINER_ABLATE;
        }
      }
      console.log(`${c.shape.arch}: max |Δp| vs llama.cpp ${Object.entries(errors).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ')}`);
      expect(errors['all features']).toBeLessThan(1e-3);
      for (const f of c.features) expect(errors[f], `without ${f}`).toBeGreaterThan(1e-3);
    });

    it(`${c.name}: learns three QA pairs, and llama.cpp's greedy decoding with the adapter answers them`, async () => {
      const base = await model(c, i);
      const t = await makeTrainer(base.path, 8, 16);
      const pairs = [
        { q: [1, 403, 407, 261], a: [378, 432, 290, 301, 302] },
        { q: [1, 300, 310, 320], a: [330, 340, 350, 360, 370] },
        { q: [1, 450, 460, 470], a: [480, 490, 500, 505, 510] },
      ];
      try {
        let first = 0;
        let last = 0;
        for (let step = 0; step < 120; step++) {
          let sum = 0;
          for (const p of pairs) {
            const tokens = [...p.q, ...p.a];
            const labels = [...p.q.slice(1).map(() => -1), ...p.a, -1];
            sum += await t.loss(Int32Array.from(tokens), Int32Array.from(labels), true);
          }
          await t.adamwStep({ lr: 1e-2, clip: 1, accum: pairs.length });
          if (step === 0) first = sum / pairs.length;
          last = sum / pairs.length;
        }
        expect(last).toBeLessThan(first * 0.05);
        const adapterPath = path.join(dir, `${c.shape.arch}-memorised.gguf`);
        await writeLoraAdapter(adapterPath, base, adapterFromParams(t, 8, 16));
        const m = await llama.loadModel({ modelPath: base.path, gpuLayers: 0 });
        try {
          const ctx = await m.createContext({ threads: 1, contextSize: 64, lora: { adapters: [{ filePath: adapterPath, scale: 1 }] } });
          for (const p of pairs) {
            const seq = ctx.getSequence();
            const out: number[] = [];
            for await (const token of seq.evaluate(p.q as Token[], { temperature: 0 })) {
              out.push(token);
              if (out.length === p.a.length) break;
            }
            expect(out, c.name).toEqual(p.a);
            seq.dispose();
          }
          await ctx.dispose();
        } finally {
          await m.dispose();
        }
      } finally {
        t.dispose();
      }
    });

    it(`${c.name}: the same gradients from every way the step can run (CPU GEMM or ggml, checkpointing, portable backward)`, async () => {
      const base = await model(c, i);
      const packed = packBatch([
        { tokens: TOKENS, labels: [...TOKENS.slice(1), -1] },
        { tokens: [1, 300, 310, 320, 330], labels: [-1, -1, 320, 330, -1] },
      ], 64);
      const run = async (o: { cpuMatmul?: boolean; checkpointing?: boolean; portable?: boolean }): Promise<Float32Array> => {
        if (o.portable) process.env.DOCTUNE_PORTABLE_BACKWARD = '1';
        const t = await makeTrainer(base.path, 4, 8, o.cpuMatmul);
        try {
          if (o.checkpointing) t.setCheckpointing(true);
          randomiseParams(t, 17, 0.05);
          await t.loss(packed.tokens, packed.labels, true, 2);
          return t.getGrads();
        } finally {
          t.dispose();
          delete process.env.DOCTUNE_PORTABLE_BACKWARD;
        }
      };
      const gemm = loadAddon().cpuMatmulKernel() !== 'none';
      const reference = await run({ cpuMatmul: false });
      expect(relativeL2(await run({ cpuMatmul: false, checkpointing: true }), reference)).toBe(0);
      expect(relativeL2(await run({ cpuMatmul: false, portable: true }), reference)).toBeLessThan(1e-5);
      if (gemm) {
        const fast = await run({ cpuMatmul: true });
        expect(relativeL2(fast, reference)).toBeLessThan(1e-4);
        expect(relativeL2(await run({ cpuMatmul: true, checkpointing: true }), fast)).toBe(0);
      }
    });

    for (const type of [GgmlType.Q8_0, GgmlType.Q4_K]) {
      it(`${c.name}: a ${GgmlType[type]} base gives the gradients of its dequantized F32 twin`, async () => {
        // Q4_K packs rows in super-blocks of 256.
        const wide: TinyModelShape = { ...c.shape, embd: 256, ff: 512, headDim: c.shape.headDim ? 64 : undefined, rotDim: c.shape.rotDim ? 48 : undefined, weightScale: undefined };
        const f32 = await writeRandomModel(path.join(dir, `${c.shape.arch}-wide.gguf`), TINY_MODEL, wide, 50 + i);
        const quant = await writeQuantizedCopy(path.join(dir, `${c.shape.arch}-${GgmlType[type]}.gguf`), f32, type, quantize);
        expect(quant.tensors.filter((x) => x.type === type).length).toBeGreaterThan(wide.layers * 3);
        const twin = await Promise.all(quant.tensors.map(async (x) => {
          const values = dequantize(x.type, await readTensorData(quant, x.name), x.dims.reduce((a, b) => a * b, 1));
          return { name: x.name, dims: x.dims, type: GgmlType.F32, data: new Uint8Array(values.buffer) };
        }));
        const twinPath = path.join(dir, `${c.shape.arch}-${GgmlType[type]}-twin.gguf`);
        await writeGguf(twinPath, { metadata: quant.metadata, tensors: twin });
        const grads: Float32Array[] = [];
        for (const file of [quant.path, twinPath]) {
          const t = await makeTrainer(file);
          try {
            randomiseParams(t, 21);
            await t.loss(new Int32Array(TOKENS), new Int32Array([...TOKENS.slice(1), -1]), true);
            grads.push(t.getGrads());
          } finally {
            t.dispose();
          }
        }
        // The CPU GEMM dequantizes exactly; ggml's path (no AVX2) rounds activations to the weights' type.
        expect(relativeL2(grads[0]!, grads[1]!)).toBeLessThan(loadAddon().cpuMatmulKernel() !== 'none' ? 1e-5 : 4e-2);
      });
    }
  });

  it('refuses what it cannot train by name, before loading the weights', async () => {
    const base = await model(ARCH_CASES[1]!, 1);
    const moe = path.join(dir, 'moe.gguf');
    await writeWithMetadata(moe, base, { 'qwen3.expert_count': gguf.u32(8) });
    await expect(makeTrainer(moe)).rejects.toThrow(/mixture-of-experts models \(8 experts\) cannot be trained/);
    const gpt2 = path.join(dir, 'gpt2.gguf');
    await writeWithMetadata(gpt2, base, { 'general.architecture': gguf.str('gpt2') });
    await expect(makeTrainer(gpt2)).rejects.toThrow(/unsupported architecture "gpt2" \(supported: llama, qwen2, qwen3, gemma3, phi3\)/);
  });
});

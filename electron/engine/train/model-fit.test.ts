import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ComputeDevice } from '../../shared/contract.js';
import { DocTuneError } from '../errors.js';
import { tempDir, TINY_MODEL } from '../testing/corpus.js';
import { writeQuantizedCopy, writeRandomModel } from '../testing/random-model.js';
import { estimateStaticMemory } from './memory-plan.js';
import { addonPath, backendDirs, loadAddon, LORA_TARGETS, targetBits } from './native-addon.js';
import { DEFAULT_TRAIN_CONFIG } from './train-config.js';
import { CATALOG_QUANTS, MODEL_CATALOG, type CatalogEntry, type ModelShape } from '../models/catalog.js';
import { downloadTarget } from '../models/download.js';
import { readGguf, readTensorData, type GgufFile } from '../models/gguf/gguf-reader.js';
import { GgmlType } from '../models/gguf/gguf-types.js';
import { writeGguf, type GgufTensorInput } from '../models/gguf/gguf-writer.js';
import { quantize } from '../models/gguf/quantize.js';
import { chatMemory, fitOnHardware, recommendModel, shapeParameters, syntheticGguf, trainingActivationBytes, trainingMemory, type Hardware } from './model-fit.js';

const GiB = 1024 ** 3;
const entry = (id: string): CatalogEntry => MODEL_CATALOG.find((e) => e.id === id)!;
const gpu = (gib: number, name = 'CUDA0'): ComputeDevice => ({ backend: 'CUDA', name, description: `test GPU ${gib} GiB`, memoryFree: gib * GiB, memoryTotal: gib * GiB });
const cpu = (gib: number): ComputeDevice => ({ backend: 'CPU', name: 'CPU', description: 'test CPU', memoryFree: gib * GiB, memoryTotal: gib * GiB });
const machine = (ramGib: number, ...gpus: ComputeDevice[]): Hardware => ({ devices: [...gpus, cpu(ramGib)], ramBytes: ramGib * GiB });
const close = (a: number, b: number, tolerance: number): void => expect(Math.abs(a - b) / b).toBeLessThan(tolerance);

describe('model catalog', () => {
  it('is well-formed: unique ids, hf: URIs that download.ts resolves, licences, both quants of every model', () => {
    const ids = MODEL_CATALOG.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(MODEL_CATALOG.length).toBe(24);
    for (const e of MODEL_CATALOG) {
      expect(e.id).toMatch(new RegExp(`^[a-z0-9.-]+-${e.quant.toLowerCase()}$`));
      expect(e.uri).toMatch(/^hf:[\w.-]+\/[\w.-]+-GGUF\/[\w.-]+\.gguf$/);
      const { url, fileName } = downloadTarget(e.uri);
      expect(fileName).toMatch(new RegExp(`-${e.quant}\\.gguf$`));
      expect(url).toMatch(new RegExp(`/resolve/main/${fileName.replace(/\./g, '\\.')}$`));
      expect(e.licence.length).toBeGreaterThan(0);
      expect(e.languages[0]).toBe('en');
      expect(e.contextLength).toBeGreaterThanOrEqual(8192);
      expect(e.shape.nEmbd % e.shape.nHead).toBe(0);
      expect(e.shape.nHead % e.shape.nHeadKv).toBe(0);
      expect(e.preferredFor.every((l) => e.languages.includes(l)), e.id).toBe(true);
      if (e.terms) expect(e.terms).toMatch(/^https:\/\//);
      expect(MODEL_CATALOG.filter((o) => o.name === e.name).map((o) => o.quant).sort()).toEqual([...CATALOG_QUANTS].sort());
    }
    // Qwen is the family for Chinese documents; Phi-4-mini and Gemma 3 4B list Chinese, Llama 3.2 and SmolLM2 do not.
    expect(new Set(MODEL_CATALOG.filter((e) => e.preferredFor.includes('zh')).map((e) => e.family))).toEqual(new Set(['Qwen3', 'Qwen2.5']));
    expect(entry('phi-4-mini-instruct-q8_0').languages).toContain('zh');
    expect(entry('llama-3.2-3b-instruct-q8_0').languages).not.toContain('zh');
    expect(entry('qwen2.5-3b-instruct-q8_0').commercialUse).toBe(false);
    expect(entry('gemma-3-4b-it-q4_k_m')).toMatchObject({ licence: 'Gemma Terms of Use', terms: 'https://ai.google.dev/gemma/terms', commercialUse: true });
    expect(entry('qwen3-4b-q8_0').uri).toBe('hf:bartowski/Qwen_Qwen3-4B-GGUF/Qwen_Qwen3-4B-Q8_0.gguf');
  });

  it('has the published shapes: each reproduces its model\'s parameter count exactly', () => {
    for (const e of MODEL_CATALOG) expect(shapeParameters(e.shape), e.id).toBe(e.parameters);
  });

  it("sizes the weights as llama-quantize does (Q4_K_M's Q6_K and Q5_0/Q8_0 fallbacks): within 2% of the published files", () => {
    for (const e of MODEL_CATALOG) {
      const weights = syntheticGguf(e.shape, e.quant).tensors.reduce((sum, t) => sum + t.bytes, 0);
      // The file also holds the tokenizer (a few MB), so the tensors come out slightly smaller.
      expect(weights, e.id).toBeLessThanOrEqual(e.bytes);
      expect(weights / e.bytes, e.id).toBeGreaterThan(0.98);
    }
    const q = syntheticGguf(entry('qwen2.5-0.5b-instruct-q4_k_m').shape, 'Q4_K_M').tensors;
    const type = (name: string): GgmlType | undefined => q.find((t) => t.name === name)?.type;
    expect(type('token_embd.weight')).toBe(GgmlType.Q8_0); // Q6_K for the tied output, 896-wide rows: Q8_0
    expect(type('blk.5.attn_q.weight')).toBe(GgmlType.Q5_0); // Q4_K, 896-wide rows: Q5_0
    expect(type('blk.0.ffn_down.weight')).toBe(GgmlType.Q6_K); // use_more_bits, 4864-wide rows
    expect(type('blk.4.ffn_down.weight')).toBe(GgmlType.Q4_K);
    const types = (id: string): Map<string, GgmlType> => new Map(syntheticGguf(entry(id).shape, entry(id).quant).tensors.map((t) => [t.name, t.type]));
    const qwen3 = types('qwen3-1.7b-q4_k_m'); // untied: the output matrix gets Q6_K, the embedding stays Q4_K
    expect([qwen3.get('output.weight'), qwen3.get('token_embd.weight'), qwen3.get('blk.3.attn_q_norm.weight')]).toEqual([GgmlType.Q6_K, GgmlType.Q4_K, GgmlType.F32]);
    const gemma = types('gemma-3-1b-it-q4_k_m'); // 1152-wide rows: Q8_0 and Q5_0 fallbacks; attn_output's rows are 4 × 256
    expect([gemma.get('token_embd.weight'), gemma.get('blk.5.attn_q.weight'), gemma.get('blk.5.attn_output.weight'), gemma.get('blk.0.attn_v.weight')]).toEqual([GgmlType.Q8_0, GgmlType.Q5_0, GgmlType.Q4_K, GgmlType.Q8_0]);
    const phi = types('phi-4-mini-instruct-q4_k_m'); // llama.cpp quantizes the fused attn_qkv as it does attn_v
    expect([phi.get('blk.0.attn_qkv.weight'), phi.get('blk.4.attn_qkv.weight'), phi.has('blk.0.ffn_gate.weight')]).toEqual([GgmlType.Q6_K, GgmlType.Q4_K, false]);
    // What llama.cpp reports as these files' tensor bytes: gemma-3-1b-it Q4_K_M, and a Qwen3-4B Q4_K_M (2507, the same shape).
    const bytes = (id: string): number => syntheticGguf(entry(id).shape, entry(id).quant).tensors.reduce((sum, t) => sum + t.bytes, 0);
    expect(bytes('gemma-3-1b-it-q4_k_m')).toBe(799_525_120);
    expect(bytes('qwen3-4b-q4_k_m')).toBe(2_491_323_904);
  });
});

describe('memory estimates', () => {
  const dir = tempDir('model-fit');

  /** A copy with every matrix in Q8_0, as llama-quantize writes one; without output.weight when tied. */
  async function writeQ8(file: string, base: GgufFile, tied: boolean): Promise<GgufFile> {
    const tensors: GgufTensorInput[] = [];
    for (const t of base.tensors) {
      if (tied && t.name === 'output.weight') continue;
      const raw = await readTensorData(base, t.name);
      const values = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
      tensors.push(t.dims.length === 2 ? { name: t.name, dims: t.dims, type: GgmlType.Q8_0, data: quantize(GgmlType.Q8_0, values) } : { name: t.name, dims: t.dims, type: t.type, data: raw });
    }
    await writeGguf(file, { metadata: base.metadata, tensors, alignment: base.alignment });
    return readGguf(file);
  }

  it('estimates from the shape what estimateStaticMemory reads from a real GGUF (F32 untied llama, Q8_0 tied qwen2, qwen3, gemma3, phi3)', async () => {
    const vocab = (await readGguf(TINY_MODEL)).tensors.find((t) => t.name === 'token_embd.weight')!.dims[1]!;
    const dims = { embd: 256, ff: 512, layers: 3, heads: 4, kvHeads: 2 };
    const llama = await writeRandomModel(path.join(dir, 'llama-f32.gguf'), TINY_MODEL, dims, 5);
    const qwenF32 = await writeRandomModel(path.join(dir, 'qwen-f32.gguf'), TINY_MODEL, { ...dims, arch: 'qwen2' }, 6);
    const qwenQ8 = await writeQ8(path.join(dir, 'qwen-q8_0-tied.gguf'), qwenF32, true);
    const shape = (arch: ModelShape['arch'], tiedEmbeddings: boolean): ModelShape =>
      ({ arch, nLayer: dims.layers, nEmbd: dims.embd, nFf: dims.ff, nHead: dims.heads, nHeadKv: dims.kvHeads, nVocab: vocab, tiedEmbeddings });
    const cases: [GgufFile, ReturnType<typeof syntheticGguf>][] = [
      [llama, syntheticGguf(shape('llama', false), 'F32')],
      [qwenQ8, syntheticGguf(shape('qwen2', true), 'Q8_0')],
    ];
    // Heads of 96 where embd / heads is 64, as Qwen3 and Gemma 3 have; phi3's fused q·k·v and gate·up.
    for (const arch of ['qwen3', 'gemma3', 'phi3'] as const) {
      const headDim = arch === 'phi3' ? {} : { headDim: 96 };
      const real = await writeRandomModel(path.join(dir, `${arch}-f32.gguf`), TINY_MODEL, { ...dims, arch, ...headDim }, 8);
      const tied = !real.tensors.some((t) => t.name === 'output.weight');
      cases.push([real, syntheticGguf({ ...shape(arch, tied), ...headDim }, 'F32')]);
    }
    for (const [real, synthetic] of cases) {
      const { rank, targets } = DEFAULT_TRAIN_CONFIG;
      const want = estimateStaticMemory(real, rank, targets);
      const got = estimateStaticMemory(synthetic, rank, targets);
      expect(want.weights).toBeGreaterThan(0);
      for (const k of ['weights', 'transposed', 'transposedCompact', 'lora', 'optimizer'] as const) close(got[k], want[k], 0.02);
      expect(synthetic.tensors.map((t) => t.name).sort()).toEqual(real.tensors.map((t) => t.name).sort());
    }
  });

  it("counts Qwen2.5-0.5B's LoRA parameters and KV cache by hand", () => {
    const e = entry('qwen2.5-0.5b-instruct-q4_k_m');
    // rank 16 × (nIn + nOut) per adapted matrix: q 896+896, k and v 896+128, o 896+896, gate/up/down 896+4864; 24 layers
    const params = 16 * (1792 + 1024 + 1024 + 1792 + 3 * 5760) * 24;
    const t = trainingMemory(e, 1, 512);
    expect(t.static.lora).toBe(params * 4);
    expect(t.static.optimizer).toBe(params * 12);
    // 2 (K and V) · 24 layers · 4096 positions · 2 KV heads · 64 per head · 2 bytes (F16) = 48 MiB
    expect(chatMemory(e).kvCache).toBe(48 * 1024 * 1024);
    expect(chatMemory(entry('llama-3.2-3b-instruct-q8_0')).kvCache).toBe(448 * 1024 * 1024);
    // Activations grow with batch × seq, and more than linearly with seq (attention scores).
    expect(trainingActivationBytes(e.shape, 4, 512)).toBeCloseTo(4 * trainingActivationBytes(e.shape, 1, 512), -3);
    expect(trainingActivationBytes(e.shape, 1, 1024)).toBeGreaterThan(2 * trainingActivationBytes(e.shape, 1, 512));
  });

  it.skipIf(!fs.existsSync(addonPath()))("covers the step the trainer measures, without overestimating by much", async () => {
    const vocab = (await readGguf(TINY_MODEL)).tensors.find((t) => t.name === 'token_embd.weight')!.dims[1]!;
    const dims = { embd: 512, ff: 1536, layers: 2, heads: 8, kvHeads: 2 };
    // Qwen3 and Gemma 3 with heads larger than embd / heads, Gemma 3 with a local layer, Phi-3's fused matrices.
    const variants = [
      { arch: 'llama' as const },
      { arch: 'qwen3' as const, headDim: 128 },
      { arch: 'gemma3' as const, headDim: 128, slidingWindow: 64 },
      { arch: 'phi3' as const },
    ];
    const gemm = loadAddon().cpuMatmulKernel() !== 'none';
    for (const v of variants) {
      const model = await writeRandomModel(path.join(dir, `step-${v.arch}.gguf`), TINY_MODEL, { ...dims, ...v }, 7);
      const tiedEmbeddings = !model.tensors.some((t) => t.name === 'output.weight');
      const shape: ModelShape = { arch: v.arch, nLayer: dims.layers, nEmbd: dims.embd, nFf: dims.ff, nHead: dims.heads, nHeadKv: dims.kvHeads, nVocab: vocab, tiedEmbeddings, ...('headDim' in v ? { headDim: v.headDim } : {}) };
      // ggml's products (what GPUs run), and DocTune's CPU GEMM where this processor has it.
      for (const products of gemm ? (['ggml', 'gemm'] as const) : (['ggml'] as const)) {
        const t = await loadAddon().createTrainer({ modelPath: model.path, backendDirs: backendDirs(), device: 'cpu', rank: 16, alpha: 32, targets: targetBits(LORA_TARGETS), seed: 1, threads: 1, compactTransposed: false, cpuMatmul: products === 'gemm' });
        try {
          // Short steps, and the planned and longest ones, where the attention scores (seq²) weigh most.
          for (const [seq, batch] of [[256, 2], [128, 4], [512, 4], [1024, 1]] as const) {
            const measured = t.plan(seq, batch, false).compute;
            const estimate = trainingActivationBytes(shape, batch, seq, products);
            expect(estimate, `${v.arch} ${products} ${batch}×${seq}`).toBeGreaterThanOrEqual(measured);
            expect(estimate / measured, `${v.arch} ${products} ${batch}×${seq}`).toBeLessThan(1.3);
          }
        } finally {
          t.dispose();
        }
      }
    }
  });
});

describe('fit and recommendation', () => {
  const dir = tempDir('model-fit-plan');
  it('places chat and training on the GPU when they fit, else in RAM, and says why', () => {
    const e = entry('qwen2.5-1.5b-instruct-q8_0');
    const fit = fitOnHardware(e, machine(32, gpu(3)));
    expect(fit.chat.runsOn).toBe('gpu');
    // By hand from the model card's shape (28 layers, 12 heads, 2 KV heads of 128, FFN 8960, vocabulary 151,936):
    // the 1.65 GB file; the F16 KV cache, 2 · 28 · 4096 positions · 256 · 2 B = 117,440,512 B; llama.cpp's compute
    // buffer for a 512-token micro-batch, 4 B · 512 · (151,936 logits + 12 · 4096 scores + 2 · 8960 + 4 · 1536) = 461,111,296 B.
    expect(fit.chat.needed).toBe(1.65e9 + 117_440_512 + 461_111_296);
    expect(fit.chat.needed).toBeLessThanOrEqual(fit.chat.available);
    expect(fit.training).toMatchObject({ runsOn: 'cpu', device: 'CPU', batch: 4, accum: 1, seq: 512 });
    // Training on 24 GiB of usable RAM (32 GiB less the quarter kept for the system): it fits at the default batch.
    expect(fit.training.available).toBe(24 * GiB);
    expect(fit.training.needed).toBeLessThanOrEqual(24 * GiB);
    expect(fit.training.reason).toMatch(/^trains on the CPU \(RAM\) with batch 4 × 512 tokens: [\d.]+ GiB of 24\.0 GiB usable$/);
    // A tight GPU: the trainer's own fallback to a smaller batch (same effective batch with --accum).
    const small = fitOnHardware(e, machine(32, gpu(8)));
    expect(small.training).toMatchObject({ runsOn: 'gpu', device: 'CUDA0 (test GPU 8 GiB)', batch: 1, accum: 4 });
    expect(small.training.reason).toContain('--batch 1 --accum 4');
  });

  it.skipIf(!fs.existsSync(addonPath()))('needs what the trainer allocates for the same model at the planned step, with transposed copies (GPU) and without (the CPU GEMM)', async () => {
    // A model file of a Qwen2.5-like layout, small enough to load here: the trainer's own plan is the reference.
    const f32 = await writeRandomModel(path.join(dir, 'fit-f32.gguf'), TINY_MODEL, { embd: 256, ff: 768, layers: 2, heads: 4, kvHeads: 2 }, 5);
    const model = await writeQuantizedCopy(path.join(dir, 'fit-q8_0.gguf'), f32, GgmlType.Q8_0, quantize, { embeddings: true });
    const vocab = model.tensors.find((t) => t.name === 'token_embd.weight')!.dims[1]!;
    const shape: ModelShape = { arch: 'llama', nLayer: 2, nEmbd: 256, nFf: 768, nHead: 4, nHeadKv: 2, nVocab: vocab, tiedEmbeddings: !model.tensors.some((t) => t.name === 'output.weight') };
    const e: CatalogEntry = { ...entry('qwen2.5-0.5b-instruct-q8_0'), id: 'random-q8_0', quant: 'Q8_0', bytes: fs.statSync(model.path).size, shape };
    const gemm = loadAddon().cpuMatmulKernel() !== 'none';
    for (const cpuMatmul of gemm ? [false, true] : [false]) {
      const fit = fitOnHardware(e, cpuMatmul ? { ...machine(64), cpuMatmul: true } : machine(64, gpu(48)));
      expect(fit.training).toMatchObject({ runsOn: cpuMatmul ? 'cpu' : 'gpu', batch: DEFAULT_TRAIN_CONFIG.batch, seq: 512, compactTransposed: false });
      const t = await loadAddon().createTrainer({ modelPath: model.path, backendDirs: backendDirs(), device: 'cpu', rank: DEFAULT_TRAIN_CONFIG.rank, alpha: DEFAULT_TRAIN_CONFIG.alpha, targets: targetBits(DEFAULT_TRAIN_CONFIG.targets), seed: 1, threads: 1, compactTransposed: false, cpuMatmul });
      try {
        const p = t.plan(512, DEFAULT_TRAIN_CONFIG.batch, false);
        expect(p.transposed > 0).toBe(!cpuMatmul);
        const measured = p.weights + p.transposed + p.lora + p.optimizer + p.compute;
        // At least what the trainer allocates (up to rounding in the weights), and not much more: the activation
        // estimate is conservative by design, by under a third.
        expect(fit.training.needed / measured, `cpuMatmul ${cpuMatmul}`).toBeGreaterThan(0.99);
        expect(fit.training.needed / measured, `cpuMatmul ${cpuMatmul}`).toBeLessThan(1.3);
      } finally {
        t.dispose();
      }
    }
  });

  it("counts no transposed copies where the CPU trains in DocTune's GEMM (the GPU still needs them)", () => {
    const e = entry('qwen2.5-1.5b-instruct-q8_0');
    const m = trainingMemory(e, 4, 512);
    expect(m.static.transposed).toBeGreaterThan(0);
    const withKernel = fitOnHardware(e, { ...machine(32, gpu(3)), cpuMatmul: true });
    expect(withKernel.training).toMatchObject({ runsOn: 'cpu', compactTransposed: false });
    // The same weights, LoRA and optimizer; no copies; the GEMM's own activations (fewer backward temporaries).
    const g = trainingMemory(e, 4, 512, 'gemm');
    expect(g.static).toEqual(m.static);
    expect(g.activations).toBeLessThan(m.activations);
    expect(withKernel.training.needed).toBe(g.static.weights + g.static.lora + g.static.optimizer + g.activations);
    // A GPU with room for the copies is still preferred, and its need includes them.
    const onGpu = fitOnHardware(e, { ...machine(32, gpu(24)), cpuMatmul: true });
    expect(onGpu.training).toMatchObject({ runsOn: 'gpu', needed: m.total });
  });

  it('recommends a 4B model on a 24 GiB GPU, Q8_0 as there is room; the language decides the family', () => {
    const hw = machine(64, gpu(24));
    const r = recommendModel(MODEL_CATALOG, hw);
    expect(r.entry?.id).toBe('qwen3-4b-q8_0');
    expect(r.fit?.training.runsOn).toBe('gpu');
    expect(r.reason).toMatch(/handles English and Chinese$/);
    expect(recommendModel(MODEL_CATALOG, hw, { language: 'zh' }).entry?.family).toBe('Qwen3');
    // English: Qwen3 4B, Gemma 3 4B and Phi-4-mini are one size class with licences that allow commercial
    // use; Phi-4-mini trains in the least memory.
    expect(recommendModel(MODEL_CATALOG, hw, { language: 'en' }).entry?.id).toBe('phi-4-mini-instruct-q8_0');
    // Where the largest that fits is Qwen2.5 3B (in Q4_K_M: Q8_0 would leave under 10% of 12 GiB), its licence is named.
    const midGpu = recommendModel(MODEL_CATALOG, machine(32, gpu(12)));
    expect(midGpu.entry?.id).toBe('qwen2.5-3b-instruct-q4_k_m');
    expect(midGpu.reason).toMatch(/Qwen Research License: non-commercial use only/);
  });

  it('recommends a small Q4_K_M on a 4 GiB GPU, at a smaller batch', () => {
    const r = recommendModel(MODEL_CATALOG, machine(16, gpu(4)));
    expect(r.entry?.id).toBe('qwen3-0.6b-q4_k_m');
    expect(r.fit?.training).toMatchObject({ runsOn: 'gpu', batch: 1, accum: 4 });
  });

  it('recommends a small Qwen on a CPU with 8 GiB of RAM, and nothing with 1 GiB, saying what is missing', () => {
    const r = recommendModel(MODEL_CATALOG, machine(8));
    expect(r.entry?.id).toBe('qwen3-0.6b-q4_k_m');
    expect(r.fit?.training.runsOn).toBe('cpu');
    expect(r.reason).toMatch(/no usable GPU/);
    const none = recommendModel(MODEL_CATALOG, machine(1));
    expect(none.entry).toBeNull();
    expect(none.reason).toMatch(/needs at least [\d.]+ GiB, but at most 0\.8 GiB are usable/);
    // With 3.4 GiB the 0.5B would just fit (2.55 GiB usable), too tightly to recommend; with 4 GiB it is (and
    // Qwen3 0.6B, its 28 layers of 16 heads, needs just over the 3 GiB usable there).
    expect(recommendModel(MODEL_CATALOG, machine(4)).entry?.id).toBe('qwen2.5-0.5b-instruct-q4_k_m');
    expect(fitOnHardware(entry('qwen3-0.6b-q4_k_m'), machine(4)).training.runsOn).toBe('none');
    expect(fitOnHardware(entry('qwen3-0.6b-q4_k_m'), machine(4.25)).training.runsOn).toBe('cpu');
    expect(fitOnHardware(entry('qwen2.5-0.5b-instruct-q4_k_m'), machine(3.4)).training.runsOn).toBe('cpu');
    const tight = recommendModel(MODEL_CATALOG, machine(3.4));
    expect(tight.entry).toBeNull();
    expect(tight.reason).toMatch(/Qwen2\.5 0\.5B Instruct \(Q4_K_M\): needs [\d.]+ GiB at batch 1, which leaves less than 10% of the [\d.]+ GiB usable on CPU/);
    const fit = fitOnHardware(entry('qwen2.5-0.5b-instruct-q4_k_m'), machine(1));
    expect(fit.training.runsOn).toBe('none');
    expect(fit.training.needed).toBe(trainingMemory(entry('qwen2.5-0.5b-instruct-q4_k_m'), 1, 512).totalCompact);
  });

  it('is deterministic: the catalog order does not change the answer', () => {
    const hw = machine(32, gpu(12));
    const a = recommendModel(MODEL_CATALOG, hw);
    const b = recommendModel([...MODEL_CATALOG].reverse(), hw);
    expect(b.entry?.id).toBe(a.entry?.id);
    expect(b.reason).toBe(a.reason);
  });

  it('refuses bad input with DocTuneError', () => {
    expect(() => recommendModel([], machine(8))).toThrow(DocTuneError);
    expect(() => recommendModel(MODEL_CATALOG, machine(8), { language: 'fr' as 'en' })).toThrow(/unknown language/);
    expect(() => fitOnHardware(MODEL_CATALOG[0]!, { devices: [], ramBytes: -1 })).toThrow(DocTuneError);
  });
});

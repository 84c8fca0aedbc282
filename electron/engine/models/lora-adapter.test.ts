import path from 'node:path';
import { getLlama, LlamaLogLevel, type Llama } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DocTuneError } from '../errors.js';
import { readGguf, readTensorData, type GgufFile } from './gguf/gguf-reader.js';
import { GgmlType, GgufValueType } from './gguf/gguf-types.js';
import { gguf, writeGguf } from './gguf/gguf-writer.js';
import { mergeLoraPair, targetShape, validateLoraAdapter, writeLoraAdapter, type LoraAdapter } from './lora-adapter.js';
import { tempDir, TINY_MODEL } from '../testing/corpus.js';
import { randomF32, rng, writeRandomModel, writeWithReplacedTensors } from '../testing/random-model.js';
import { maxAbsDifference, nextTokenProbabilities } from '../testing/llama-reference.js';

const PROMPT = 'Once upon a time';

function randomAdapter(base: GgufFile, targets: string[], rank: number, alpha: number, seed: number, zeroB = false): LoraAdapter {
  const next = rng(seed);
  return {
    rank,
    alpha,
    pairs: targets.map((target) => {
      const { nIn, nOut } = targetShape(base, target);
      return { target, a: randomF32(rank * nIn, 0.5, next), b: zeroB ? new Float32Array(nOut * rank) : randomF32(nOut * rank, 0.5, next) };
    }),
  };
}

/** llama.cpp's merge, done by hand: the reference the adapter must reproduce. */
async function writeMerged(file: string, base: GgufFile, adapter: LoraAdapter): Promise<void> {
  const replaced = new Map<string, Float32Array>();
  for (const pair of adapter.pairs) {
    const { nIn, nOut } = targetShape(base, pair.target);
    const raw = await readTensorData(base, pair.target);
    const w = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
    replaced.set(pair.target, mergeLoraPair(w, pair, nIn, nOut, adapter.rank, adapter.alpha / adapter.rank));
  }
  await writeWithReplacedTensors(file, base, replaced);
}

describe('LoRA adapters in llama.cpp\'s format', () => {
  let llama: Llama;
  const dir = tempDir('lora');

  beforeAll(async () => {
    llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, logger: () => undefined });
  });
  afterAll(() => llama?.dispose());

  /** The prompt's tokens (the random models share the tiny model's tokenizer). */
  let tokens: number[] = [];
  beforeAll(async () => {
    const model = await llama.loadModel({ modelPath: TINY_MODEL, gpuLayers: 0 });
    tokens = [...model.tokenize(PROMPT)];
    await model.dispose();
  });
  const nextTokenProbs = (modelPath: string, adapterPath?: string): Promise<Float64Array> => nextTokenProbabilities(llama, modelPath, tokens, adapterPath);
  const maxDiff = maxAbsDifference;

  for (const kind of ['stories260K', 'random GQA llama'] as const) {
    it(`${kind}: an adapter loaded by llama.cpp equals the hand-merged model, and a zero adapter is a no-op`, async () => {
      const base = kind === 'stories260K'
        ? await readGguf(TINY_MODEL)
        : await writeRandomModel(path.join(dir, 'random.gguf'), TINY_MODEL, { embd: 32, ff: 64, layers: 2, heads: 4, kvHeads: 2 }, 7);
      const layers = kind === 'stories260K' ? [0, 1, 2, 3, 4] : [0, 1];
      const kinds = ['attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down'];
      const targets = layers.map((l, i) => `blk.${l}.${kinds[i % kinds.length]}.weight`).concat(`blk.${layers[0]}.ffn_down.weight`);
      const adapter = randomAdapter(base, targets, 4, 32, 42);
      const adapterPath = path.join(dir, `${kind}-adapter.gguf`);
      await writeLoraAdapter(adapterPath, base, adapter);
      validateLoraAdapter(await readGguf(adapterPath), base);
      const mergedPath = path.join(dir, `${kind}-merged.gguf`);
      await writeMerged(mergedPath, base, adapter);

      const plain = await nextTokenProbs(base.path);
      const withAdapter = await nextTokenProbs(base.path, adapterPath);
      const merged = await nextTokenProbs(mergedPath);
      const effect = maxDiff(withAdapter, plain);
      const error = maxDiff(withAdapter, merged);
      // The adapter does something, and exactly what the merge does.
      expect(effect).toBeGreaterThan(1e-3);
      expect(error).toBeLessThan(1e-3);
      expect(error).toBeLessThan(effect / 100);

      const zeroPath = path.join(dir, `${kind}-zero.gguf`);
      await writeLoraAdapter(zeroPath, base, randomAdapter(base, targets, 4, 8, 1, true));
      expect(maxDiff(await nextTokenProbs(base.path, zeroPath), plain)).toBeLessThan(1e-6);
    });
  }

  it('refuses adapters that would crash or be refused by llama.cpp, saying why', async () => {
    const base = await readGguf(TINY_MODEL);
    const good = randomAdapter(base, ['blk.0.attn_q.weight'], 2, 4, 3);
    const a = { name: 'blk.0.attn_q.weight.lora_a', dims: [64, 2], type: GgmlType.F32, data: new Uint8Array(good.pairs[0]!.a.buffer) };
    const b = { name: 'blk.0.attn_q.weight.lora_b', dims: [2, 64], type: GgmlType.F32, data: new Uint8Array(good.pairs[0]!.b.buffer) };
    const meta = (alpha: boolean, arch = 'llama'): [string, ReturnType<typeof gguf.str>][] => [
      ['general.architecture', gguf.str(arch)],
      ['general.type', gguf.str('adapter')],
      ['adapter.type', gguf.str('lora')],
      ['adapter.lora.alpha', alpha ? gguf.f32(4) : { type: GgufValueType.UINT32, value: 4 }],
    ];
    const cases: [string, Parameters<typeof writeGguf>[1], RegExp][] = [
      ['alpha-u32', { metadata: meta(false), tensors: [a, b] }, /adapter\.lora\.alpha must be FLOAT32/],
      ['half-pair', { metadata: meta(true), tensors: [a] }, /only half of its LoRA pair/],
      ['wrong-arch', { metadata: meta(true, 'qwen2'), tensors: [a, b] }, /general\.architecture is "qwen2", expected "llama"/],
      ['wrong-shape', { metadata: meta(true), tensors: [a, { ...b, name: 'blk.0.attn_k.weight.lora_b' }, { ...a, name: 'blk.0.attn_k.weight.lora_a' }] }, /do not fit the base \[64, 32\]/],
      ['base-model', { metadata: base.metadata, tensors: [] }, /general\.type|no LoRA tensors|missing/],
    ];
    for (const [name, input, reason] of cases) {
      const p = path.join(dir, `${name}.gguf`);
      await writeGguf(p, input);
      await expect(readGguf(p).then((f) => validateLoraAdapter(f, base)), name).rejects.toThrow(reason);
      await expect(readGguf(p).then((f) => validateLoraAdapter(f, base))).rejects.toBeInstanceOf(DocTuneError);
    }
  });
});

/**
 * GPU training check, run by bench/gpu-check.sh on an NVIDIA machine (or by hand with --device vulkan|metal):
 *   1. correctness: 20 steps on the CPU and on the GPU with the same data and initialisation, losses within 2%,
 *      and the scheduler's splits / CPU-fallback nodes of the step graph on the GPU (goal: 1 / 0);
 *   2. throughput and memory: DocTune on Qwen2.5-0.5B and -1.5B shapes (random weights written as GGUF F16 and
 *      Q4_K by DocTune itself) against HF transformers + PEFT (bf16, SDPA) on the same shapes, seq, batch,
 *      rank 16 and all seven targets: tokens/s, ratio, MFU and peak GPU memory of both.
 * Results go to bench/results/gpu-check-<time>.json; the table is printed last.
 * Usage: npx tsx bench/gpu-train.bench.ts [--device cuda] [--seq 512] [--batch 4] [--steps 10] [--shapes 0.5b,1.5b]
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readGguf, type GgufFile } from '../electron/engine/models/gguf/gguf-reader.js';
import { GgmlType, GgufValueType, type GgufValue } from '../electron/engine/models/gguf/gguf-types.js';
import { gguf, writeGgufStreaming, type GgufTensorShape } from '../electron/engine/models/gguf/gguf-writer.js';
import { quantize } from '../electron/engine/models/gguf/quantize.js';
import { TINY_MODEL } from '../electron/engine/testing/corpus.js';
import { rng, writeQuantizedCopy, writeRandomLlama } from '../electron/engine/testing/random-model.js';
import { backendDirs, loadAddon, LORA_TARGETS, targetBits, type DeviceChoice, type NativeTrainer } from '../electron/engine/train/native-addon.js';
import { packBatch } from '../electron/engine/train/train-loop.js';

const arg = (name: string, d: string): string => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : d;
};
const DEVICE = arg('--device', 'cuda') as DeviceChoice;
const SEQ = Number(arg('--seq', '512'));
const BATCH = Number(arg('--batch', '4'));
const STEPS = Number(arg('--steps', '10'));
const WARMUP = 2;
const RANK = 16;
const ALPHA = 32;
const PEAK_TFLOPS = Number(arg('--peak-tflops', '989')); // H100 SXM, dense BF16
const PYTHON = process.env.PYTHON ?? 'python3';
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const work = path.join(os.tmpdir(), 'doctune-gpu-check');
const threads = Math.max(1, os.cpus().length);
fs.mkdirSync(work, { recursive: true });

interface Shape { name: string; embd: number; ff: number; layers: number; heads: number; kvHeads: number; vocab: number }
const SHAPES: Record<string, Shape> = {
  '0.5b': { name: 'Qwen2.5-0.5B', embd: 896, ff: 4864, layers: 24, heads: 14, kvHeads: 2, vocab: 151936 },
  '1.5b': { name: 'Qwen2.5-1.5B', embd: 1536, ff: 8960, layers: 28, heads: 12, kvHeads: 2, vocab: 151936 },
  // A small shape with the same vocabulary, to try the script on a machine without a big GPU.
  small: { name: 'Qwen2-small', embd: 256, ff: 768, layers: 2, heads: 4, kvHeads: 2, vocab: 151936 },
};

const addon = loadAddon();

/** Random Qwen2-architecture GGUF (tied embeddings, q/k/v biases) in `type`, written tensor by tensor. */
async function writeQwen2(file: string, s: Shape, type: GgmlType): Promise<void> {
  if (fs.existsSync(file)) return;
  const hd = s.embd / s.heads;
  const kv = hd * s.kvHeads;
  const meta: [string, GgufValue][] = [
    ['general.architecture', gguf.str('qwen2')], ['general.name', gguf.str(`random ${s.name}`)],
    ['qwen2.context_length', gguf.u32(32768)], ['qwen2.embedding_length', gguf.u32(s.embd)],
    ['qwen2.feed_forward_length', gguf.u32(s.ff)], ['qwen2.attention.head_count', gguf.u32(s.heads)],
    ['qwen2.attention.head_count_kv', gguf.u32(s.kvHeads)], ['qwen2.block_count', gguf.u32(s.layers)],
    ['qwen2.rope.freq_base', gguf.f32(1_000_000)], ['qwen2.attention.layer_norm_rms_epsilon', { type: GgufValueType.FLOAT32, value: 1e-6 }],
  ];
  // Q4_K packs rows in blocks of 256; rows of 896 take Q5_0, as llama.cpp's quantizer does for them.
  const matType = (nIn: number): GgmlType => (type === GgmlType.Q4_K && nIn % 256 !== 0 ? GgmlType.Q5_0 : type);
  const tensors: (GgufTensorShape & { scale: number })[] = [{ name: 'token_embd.weight', dims: [s.embd, s.vocab], type: matType(s.embd), scale: 0.02 }];
  const vec = (name: string, n: number, scale: number): void => void tensors.push({ name, dims: [n], type: GgmlType.F32, scale });
  const mat = (name: string, nIn: number, nOut: number): void => void tensors.push({ name, dims: [nIn, nOut], type: matType(nIn), scale: 1 / Math.sqrt(nIn) });
  vec('output_norm.weight', s.embd, 0);
  for (let l = 0; l < s.layers; l++) {
    vec(`blk.${l}.attn_norm.weight`, s.embd, 0);
    vec(`blk.${l}.ffn_norm.weight`, s.embd, 0);
    mat(`blk.${l}.attn_q.weight`, s.embd, s.embd); vec(`blk.${l}.attn_q.bias`, s.embd, 0.1);
    mat(`blk.${l}.attn_k.weight`, s.embd, kv); vec(`blk.${l}.attn_k.bias`, kv, 0.1);
    mat(`blk.${l}.attn_v.weight`, s.embd, kv); vec(`blk.${l}.attn_v.bias`, kv, 0.1);
    mat(`blk.${l}.attn_output.weight`, s.embd, s.embd);
    mat(`blk.${l}.ffn_gate.weight`, s.embd, s.ff);
    mat(`blk.${l}.ffn_up.weight`, s.embd, s.ff);
    mat(`blk.${l}.ffn_down.weight`, s.ff, s.embd);
  }
  const next = rng(1234);
  await writeGgufStreaming(file, meta, tensors, (i) => {
    const t = tensors[i]!;
    const n = t.dims.reduce((a, b) => a * b, 1);
    const values = new Float32Array(n);
    if (t.scale === 0) values.fill(1); // norms
    else for (let k = 0; k < n; k++) values[k] = (next() * 2 - 1) * t.scale;
    return addon.quantize(t.type, values, t.dims[0]!, threads);
  });
}

function qwenConfig(s: Shape): Record<string, unknown> {
  return {
    hidden_size: s.embd, intermediate_size: s.ff, num_hidden_layers: s.layers, num_attention_heads: s.heads,
    num_key_value_heads: s.kvHeads, vocab_size: s.vocab, max_position_embeddings: 32768, rms_norm_eps: 1e-6,
    rope_theta: 1_000_000, tie_word_embeddings: true,
  };
}

/** Training FLOPs per token of a LoRA step: forward 2·N and input gradients 2·N for the frozen matrices
 * (no weight gradients), plus attention (QKᵀ and PV, forward and backward) over the whole sequence. */
function flopsPerToken(s: Shape, seq: number): number {
  const kv = (s.embd / s.heads) * s.kvHeads;
  const perLayer = 2 * s.embd * s.embd + 2 * s.embd * kv + 3 * s.embd * s.ff;
  const nLin = s.layers * perLayer + s.embd * s.vocab;
  return 4 * nLin + 12 * s.layers * seq * s.embd;
}

async function makeTrainer(model: string, device: DeviceChoice): Promise<NativeTrainer> {
  return addon.createTrainer({ modelPath: model, backendDirs: backendDirs(), device, rank: RANK, alpha: ALPHA, targets: targetBits(LORA_TARGETS), seed: 1, threads });
}

// ---------------------------------------------------------------- 1. correctness

async function correctness(): Promise<Record<string, unknown>[]> {
  const tiny = await readGguf(TINY_MODEL);
  const models: [string, GgufFile][] = [
    ['stories260K F32', tiny],
    ['stories260K Q8_0', await writeQuantizedCopy(path.join(work, 'stories-q8_0.gguf'), tiny, GgmlType.Q8_0, quantize)],
    ['random qwen2 Q4_K', await writeQuantizedCopy(path.join(work, 'qwen2-q4_k.gguf'),
      await writeRandomLlama(path.join(work, 'qwen2-f32.gguf'), TINY_MODEL, { arch: 'qwen2', embd: 256, ff: 512, layers: 2, heads: 4, kvHeads: 2 }, 3), GgmlType.Q4_K, quantize)],
  ];
  const next = rng(7);
  const examples = Array.from({ length: 4 }, (_, i) => {
    const tokens = Array.from({ length: 24 + 8 * i }, () => 3 + Math.floor(next() * 500));
    return { tokens, labels: [...tokens.slice(1), -1] };
  });
  const b = packBatch(examples, 64);
  const out: Record<string, unknown>[] = [];
  for (const [name, model] of models) {
    const run = async (device: DeviceChoice): Promise<{ losses: number[]; t: NativeTrainer }> => {
      const t = await makeTrainer(model.path, device);
      t.plan(b.length, examples.length, true);
      const losses: number[] = [];
      for (let i = 0; i < 20; i++) {
        losses.push(await t.loss(b.tokens, b.labels, true, examples.length));
        await t.adamwStep({ lr: 5e-4, clip: 1 });
      }
      return { losses, t };
    };
    const cpu = await run('cpu');
    cpu.t.dispose();
    const gpu = await run(DEVICE);
    const info = gpu.t.info();
    gpu.t.dispose();
    const maxRel = Math.max(...gpu.losses.map((l, i) => Math.abs(l - cpu.losses[i]!) / cpu.losses[i]!));
    out.push({ model: name, device: `${info.device.backend} ${info.device.description}`, splits: info.nSplits, cpu_fallbacks: info.nFallbacks,
      cpu_losses: cpu.losses, gpu_losses: gpu.losses, max_relative_difference: maxRel, pass: maxRel < 0.02 && info.nFallbacks === 0 });
    console.log(`correctness ${name}: max loss difference ${(maxRel * 100).toFixed(3)}%, ${info.nSplits} split(s), ${info.nFallbacks} CPU fallback(s) on ${info.device.description}`);
  }
  return out;
}

// ---------------------------------------------------------------- 2. throughput and memory

function tokensFile(s: Shape): { file: string; seqs: Int32Array[] } {
  const next = rng(99);
  const seqs = Array.from({ length: STEPS * BATCH }, () => Int32Array.from({ length: SEQ + 1 }, () => 3 + Math.floor(next() * (s.vocab - 3))));
  const file = path.join(work, `tokens-${s.vocab}-${SEQ}-${BATCH}-${STEPS}.bin`);
  const all = new Int32Array(seqs.length * (SEQ + 1));
  seqs.forEach((q, i) => all.set(q, i * (SEQ + 1)));
  fs.writeFileSync(file, Buffer.from(all.buffer));
  return { file, seqs };
}

async function doctune(model: string, seqs: Int32Array[]): Promise<Record<string, unknown>> {
  const t = await makeTrainer(model, DEVICE);
  try {
    const plan = t.plan(SEQ, BATCH, true);
    const step = async (i: number): Promise<number> => {
      const batch = seqs.slice(i * BATCH, (i + 1) * BATCH);
      const tokens = new Int32Array(BATCH * SEQ);
      const labels = new Int32Array(BATCH * SEQ);
      batch.forEach((q, k) => { tokens.set(q.subarray(0, SEQ), k * SEQ); labels.set(q.subarray(1), k * SEQ); });
      const loss = await t.loss(tokens, labels, true, BATCH);
      await t.adamwStep({ lr: 1e-4, clip: 1 });
      return loss;
    };
    const losses: number[] = [];
    for (let i = 0; i < WARMUP; i++) losses.push(await step(i));
    const t0 = performance.now();
    for (let i = WARMUP; i < STEPS; i++) losses.push(await step(i));
    const seconds = (performance.now() - t0) / 1000;
    const info = t.info();
    const peak = plan.weights + plan.transposed + plan.lora + plan.optimizer + plan.compute;
    return { impl: 'doctune', device: info.device.description, tokens_per_s: ((STEPS - WARMUP) * BATCH * SEQ) / seconds, ms_per_step: (1000 * seconds) / (STEPS - WARMUP),
      peak_memory_bytes: peak, memory_plan: plan, splits: info.nSplits, cpu_fallbacks: info.nFallbacks, trainable_params: info.nParams, losses };
  } finally {
    t.dispose();
  }
}

function peft(s: Shape, tokens: string): Record<string, unknown> {
  const cfg = path.join(work, `${s.name}.json`);
  const out = path.join(work, `${s.name}-peft.json`);
  fs.writeFileSync(cfg, JSON.stringify(qwenConfig(s)));
  const r = spawnSync(PYTHON, [path.join(root, 'bench', 'peft_lora.py'), '--config', cfg, '--seq', String(SEQ), '--batch', String(BATCH), '--rank', String(RANK),
    '--alpha', String(ALPHA), '--steps', String(STEPS), '--warmup', String(WARMUP), '--tokens', tokens, '--out', out], { encoding: 'utf8' });
  if (r.status === 0 || r.status === 3) return JSON.parse(fs.readFileSync(out, 'utf8')) as Record<string, unknown>;
  return { impl: 'hf-peft', error: `unavailable (exit ${r.status}): ${(r.stderr || '').trim().split('\n').at(-1) ?? ''}` };
}

const gib = (b: unknown): string => (typeof b === 'number' ? `${(b / 2 ** 30).toFixed(2)} GiB` : '—');
const num = (x: unknown, d = 0): string => (typeof x === 'number' ? x.toFixed(d) : '—');

async function main(): Promise<void> {
  const { devices, notes } = addon.listDevices(backendDirs());
  console.log(`devices: ${devices.map((d) => `${d.backend} ${d.description}`).join('; ')}${notes ? ` (${notes})` : ''}`);
  if (!devices.some((d) => d.backend.toLowerCase() === DEVICE)) throw new Error(`no ${DEVICE} device: ${notes || 'none found'}`);
  const checks = await correctness();
  const rows: Record<string, unknown>[] = [];
  for (const key of arg('--shapes', '0.5b,1.5b').split(',')) {
    const s = SHAPES[key]!;
    const { file: tokens, seqs } = tokensFile(s);
    const peer = peft(s, tokens);
    for (const type of [GgmlType.F16, GgmlType.Q4_K]) {
      const model = path.join(work, `${s.name}-${GgmlType[type]}.gguf`);
      const t0 = performance.now();
      await writeQwen2(model, s, type);
      console.log(`model ${path.basename(model)} ready (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
      const ours = await doctune(model, seqs);
      const flops = flopsPerToken(s, SEQ);
      rows.push({ shape: s.name, base: GgmlType[type], seq: SEQ, batch: BATCH, rank: RANK, doctune: ours, peft: peer,
        ratio_tokens: typeof peer.tokens_per_s === 'number' ? (ours.tokens_per_s as number) / peer.tokens_per_s : null,
        ratio_memory: typeof peer.peak_memory_bytes === 'number' ? (ours.peak_memory_bytes as number) / peer.peak_memory_bytes : null,
        mfu_doctune: ((ours.tokens_per_s as number) * flops) / (PEAK_TFLOPS * 1e12),
        mfu_peft: typeof peer.tokens_per_s === 'number' ? (peer.tokens_per_s * flops) / (PEAK_TFLOPS * 1e12) : null });
      console.log(`${s.name} ${GgmlType[type]}: DocTune ${num(ours.tokens_per_s)} tok/s, ${gib(ours.peak_memory_bytes)}; PEFT ${num(peer.tokens_per_s)} tok/s, ${gib(peer.peak_memory_bytes)}`);
    }
  }
  const results = path.join(root, 'bench', 'results');
  fs.mkdirSync(results, { recursive: true });
  const file = path.join(results, `gpu-check-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify({ device: DEVICE, devices, notes, seq: SEQ, batch: BATCH, rank: RANK, steps: STEPS, peak_tflops: PEAK_TFLOPS, correctness: checks, throughput: rows }, null, 2));

  console.log(`\nresults: ${path.relative(root, file)}`);
  console.log('correctness (20 steps, CPU vs GPU)          max diff   splits  fallbacks  pass');
  for (const c of checks) console.log(`  ${String(c.model).padEnd(40)} ${((c.max_relative_difference as number) * 100).toFixed(3).padStart(7)}%  ${String(c.splits).padStart(6)}  ${String(c.cpu_fallbacks).padStart(9)}  ${c.pass ? 'yes' : 'NO'}`);
  console.log(`throughput (seq ${SEQ}, batch ${BATCH}, rank ${RANK}, 7 targets)   DocTune tok/s   PEFT tok/s   ratio   MFU ours/PEFT   peak mem ours / PEFT   ratio`);
  for (const r of rows) {
    const d = r.doctune as Record<string, unknown>;
    const p = r.peft as Record<string, unknown>;
    console.log(`  ${`${r.shape} ${r.base}`.padEnd(46)} ${num(d.tokens_per_s).padStart(13)} ${num(p.tokens_per_s).padStart(12)} ${num(r.ratio_tokens, 2).padStart(6)}×  ${num(100 * (r.mfu_doctune as number), 1)}% / ${r.mfu_peft === null ? '—' : `${num(100 * (r.mfu_peft as number), 1)}%`}   ${gib(d.peak_memory_bytes)} / ${gib(p.peak_memory_bytes)}   ${num(r.ratio_memory, 2)}×`);
  }
  console.log('goals with the Q4_K base: ≥ 2.5× PEFT tokens/s, ≤ 0.3× its peak memory');
}

await main();

/**
 * GPU training check, run by bench/gpu-check.sh on an NVIDIA machine (or by hand with --device vulkan|metal):
 *   1. correctness: 20 steps on the CPU and on the GPU with the same data and initialisation, losses within 2%,
 *      and the scheduler's splits / CPU-fallback nodes of the step graph on the GPU (goal: 1 / 0);
 *   2. throughput and memory: DocTune on Qwen2.5-0.5B and -1.5B shapes (random weights written as GGUF F16 and
 *      Q4_K by DocTune itself), at each --precision (auto: what DocTune measures fastest on the device),
 *      against HF transformers + PEFT (bf16, SDPA) on the same shapes, seq, batch, rank 16 and all seven
 *      targets: tokens/s, ratio, MFU and peak GPU memory of both.
 * Results go to bench/results/gpu-check-<time>.json; the table is printed last.
 * Usage: npx tsx bench/gpu-train.bench.ts [--device cuda] [--seq 512] [--batch 4] [--steps 10] [--shapes 0.5b,1.5b]
 *        [--precision auto,f32,f16,bf16]
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readGguf, type GgufFile } from '../electron/engine/models/gguf/gguf-reader.js';
import { GgmlType } from '../electron/engine/models/gguf/gguf-types.js';
import { quantize } from '../electron/engine/models/gguf/quantize.js';
import { TINY_MODEL } from '../electron/engine/testing/corpus.js';
import { rng, writeQuantizedCopy, writeRandomModel } from '../electron/engine/testing/random-model.js';
import { backendDirs, loadAddon, LORA_TARGETS, PRECISIONS, targetBits, type DeviceChoice, type NativeTrainer, type Precision } from '../electron/engine/train/native-addon.js';
import { packBatch } from '../electron/engine/train/train-loop.js';
import { flopsPerToken, SHAPES as BENCH_SHAPES, writeRandomQwen2, type Shape as BenchShape } from './train-models.js';

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

const precisions = arg('--precision', 'auto,f32').split(',').map((p) => {
  if (!PRECISIONS.includes(p as Precision)) throw new Error(`unknown precision ${p} (${PRECISIONS.join(', ')})`);
  return p as Precision;
});

type Shape = BenchShape & { name: string };
const SHAPES: Record<string, Shape> = {
  '0.5b': { ...BENCH_SHAPES['qwen2.5-0.5b']!, name: 'Qwen2.5-0.5B' },
  '1.5b': { ...BENCH_SHAPES['qwen2.5-1.5b']!, name: 'Qwen2.5-1.5B' },
  // A small shape with the same vocabulary, to try the script on a machine without a big GPU.
  small: { ...BENCH_SHAPES['qwen2-small']!, name: 'Qwen2-small' },
};

const addon = loadAddon();

async function writeQwen2(file: string, s: Shape, type: GgmlType): Promise<void> {
  if (!fs.existsSync(file)) await writeRandomQwen2(file, s, type);
}

function qwenConfig(s: Shape): Record<string, unknown> {
  return {
    hidden_size: s.embd, intermediate_size: s.ff, num_hidden_layers: s.layers, num_attention_heads: s.heads,
    num_key_value_heads: s.kvHeads, vocab_size: s.vocab, max_position_embeddings: 32768, rms_norm_eps: 1e-6,
    rope_theta: 1_000_000, tie_word_embeddings: true,
  };
}

async function makeTrainer(model: string, device: DeviceChoice, precision: Precision = 'f32'): Promise<NativeTrainer> {
  return addon.createTrainer({ modelPath: model, backendDirs: backendDirs(), device, rank: RANK, alpha: ALPHA, targets: targetBits(LORA_TARGETS), seed: 1, threads, precision });
}

// ---------------------------------------------------------------- 1. correctness

async function correctness(): Promise<Record<string, unknown>[]> {
  const tiny = await readGguf(TINY_MODEL);
  const models: [string, GgufFile][] = [
    ['stories260K F32', tiny],
    ['stories260K Q8_0', await writeQuantizedCopy(path.join(work, 'stories-q8_0.gguf'), tiny, GgmlType.Q8_0, quantize)],
    ['random qwen2 Q4_K', await writeQuantizedCopy(path.join(work, 'qwen2-q4_k.gguf'),
      await writeRandomModel(path.join(work, 'qwen2-f32.gguf'), TINY_MODEL, { arch: 'qwen2', embd: 256, ff: 512, layers: 2, heads: 4, kvHeads: 2 }, 3), GgmlType.Q4_K, quantize)],
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

async function doctune(model: string, seqs: Int32Array[], precision: Precision): Promise<Record<string, unknown>> {
  const t = await makeTrainer(model, DEVICE, precision);
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
    return { impl: 'doctune', device: info.device.description, precision: info.precision, precision_note: info.precisionNote, tokens_per_s: ((STEPS - WARMUP) * BATCH * SEQ) / seconds, ms_per_step: (1000 * seconds) / (STEPS - WARMUP),
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
      for (const precision of precisions) {
        const ours = await doctune(model, seqs, precision);
        const flops = flopsPerToken(s, SEQ, RANK);
        rows.push({ shape: s.name, base: GgmlType[type], precision: ours.precision, seq: SEQ, batch: BATCH, rank: RANK, doctune: ours, peft: peer,
          ratio_tokens: typeof peer.tokens_per_s === 'number' ? (ours.tokens_per_s as number) / peer.tokens_per_s : null,
          ratio_memory: typeof peer.peak_memory_bytes === 'number' ? (ours.peak_memory_bytes as number) / peer.peak_memory_bytes : null,
          mfu_doctune: ((ours.tokens_per_s as number) * flops) / (PEAK_TFLOPS * 1e12),
          mfu_peft: typeof peer.tokens_per_s === 'number' ? (peer.tokens_per_s * flops) / (PEAK_TFLOPS * 1e12) : null });
        console.log(`${s.name} ${GgmlType[type]} ${String(ours.precision)}: DocTune ${num(ours.tokens_per_s)} tok/s, ${gib(ours.peak_memory_bytes)}; PEFT ${num(peer.tokens_per_s)} tok/s, ${gib(peer.peak_memory_bytes)}${ours.precision_note ? ` [${String(ours.precision_note)}]` : ''}`);
      }
    }
  }
  const results = path.join(root, 'bench', 'results');
  fs.mkdirSync(results, { recursive: true });
  const file = path.join(results, `gpu-check-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify({ device: DEVICE, devices, notes, seq: SEQ, batch: BATCH, rank: RANK, steps: STEPS, precisions, peak_tflops: PEAK_TFLOPS, correctness: checks, throughput: rows }, null, 2));

  console.log(`\nresults: ${path.relative(root, file)}`);
  console.log('correctness (20 steps, CPU vs GPU)          max diff   splits  fallbacks  pass');
  for (const c of checks) console.log(`  ${String(c.model).padEnd(40)} ${((c.max_relative_difference as number) * 100).toFixed(3).padStart(7)}%  ${String(c.splits).padStart(6)}  ${String(c.cpu_fallbacks).padStart(9)}  ${c.pass ? 'yes' : 'NO'}`);
  console.log(`throughput (seq ${SEQ}, batch ${BATCH}, rank ${RANK}, 7 targets; PEFT in bf16)   DocTune tok/s   PEFT tok/s   ratio   MFU ours/PEFT   peak mem ours / PEFT   ratio`);
  for (const r of rows) {
    const d = r.doctune as Record<string, unknown>;
    const p = r.peft as Record<string, unknown>;
    console.log(`  ${`${r.shape} ${r.base} ${String(r.precision)}`.padEnd(46)} ${num(d.tokens_per_s).padStart(13)} ${num(p.tokens_per_s).padStart(12)} ${num(r.ratio_tokens, 2).padStart(6)}×  ${num(100 * (r.mfu_doctune as number), 1)}% / ${r.mfu_peft === null ? '—' : `${num(100 * (r.mfu_peft as number), 1)}%`}   ${gib(d.peak_memory_bytes)} / ${gib(p.peak_memory_bytes)}   ${num(r.ratio_memory, 2)}×`);
  }
  console.log('goals with the Q4_K base: ≥ 2.5× PEFT tokens/s, ≤ 0.3× its peak memory');
}

await main();

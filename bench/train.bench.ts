/**
 * Training throughput and memory: DocTune's LoRA trainer on the CPU against PyTorch doing the same LoRA
 * training (same F32 weights, data, sequence length, batch, rank 16, all 7 targets, threads), in one run:
 *   shapes  stories260K (the real model), a stories15M-shaped Llama, a Qwen2.5-0.5B-shaped Qwen2 (random
 *           weights, its real 151,936-token vocabulary) at seq 256;
 *   bases   DocTune on F32 (the peer's weights), Q8_0 and Q4_K (what users have; PyTorch cannot train on
 *           those, so its F32 run is the peer);
 *   precision  DocTune at F32 (the peer's arithmetic) and at its default, auto (measured: BF16 products
 *           where the CPU has AVX512-BF16); the peer in F32;
 *   columns tokens/s, ratio, MFU (FLOP/s over this core's peak for the precision, measured in the same run)
 *           and peak RSS of each process; and DocTune's 2-thread speed-up over 1 thread.
 * The peer must run on an optimised BLAS: with the reference BLAS (Debian's python3-torch alone) no ratio is
 * printed. Equal threads on both sides, BLAS threads included. The table goes to bench/results/train.json.
 * Usage: npm run bench:train [-- --threads 1 --shapes stories260K,stories15M,qwen2.5-0.5b --bases f32,q8_0,q4_k]
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { metaNumber, type GgufFile } from '../electron/engine/models/gguf/gguf-reader.js';
import { rng } from '../electron/engine/testing/random-model.js';
import { LORA_TARGETS, loadAddon } from '../electron/engine/train/native-addon.js';
import { BASES, benchModel, flopsPerToken, SHAPES, type Base, type Shape } from './train-models.js';

const arg = (name: string, d: string): string => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : d;
};
const threads = Number(arg('--threads', '1'));
const shapes = arg('--shapes', 'stories260K,stories15M,qwen2.5-0.5b').split(',').map((k) => SHAPES[k] ?? die(`unknown shape ${k} (${Object.keys(SHAPES).join(', ')})`));
const bases = arg('--bases', BASES.join(',')).split(',').map((b) => (BASES.includes(b as Base) ? (b as Base) : die(`unknown base ${b} (${BASES.join(', ')})`)));
const RANK = 16;
const ALPHA = 32;
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
const here = import.meta.dirname;
const root = path.resolve(here, '..');
const work = path.join(os.tmpdir(), 'doctune-bench-train');

interface Run { seq: number; batch: number; steps: number; warmup: number }
/** Small shapes take more steps; the 0.5B shape takes one sequence of 256 (a step is seconds on one core). */
const runOf = (s: Shape): Run => (s.vocab > 100_000 ? { seq: 256, batch: 1, steps: 4, warmup: 1 } : { seq: 128, batch: 4, steps: 12, warmup: 2 });
/**
 * Every run of a shape, the peer's and DocTune's, takes turns this many times and each keeps its fastest:
 * a busy stretch of a shared machine then does not fall on one side (default 3; 1 for the 0.5B shape).
 */
const roundsOf = (s: Shape): number => Number(arg('--rounds', s.vocab > 100_000 ? '1' : '3'));

interface Side { tokens_per_s: number; ms_per_step: number; first_loss: number; last_loss: number; rss_mb: number; kernel?: string; precision?: string; precision_note?: string }

function die(message: string): never {
  console.error(`bench:train: ${message}`);
  process.exit(1);
}

/** Environment of a side: this many threads for every pool it may use (OpenMP, OpenBLAS, MKL). */
function envFor(n: number, peer: boolean): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: String(n), OPENBLAS_NUM_THREADS: String(n), MKL_NUM_THREADS: String(n), GGML_NO_BACKTRACE: '1' };
  // The peer runs OpenBLAS as its users do: its own choice of kernel and cache sizes.
  if (peer) for (const k of ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE', 'OPENBLAS_VERBOSE']) delete env[k];
  return env;
}

function runJson(cmd: string, args: string[], env: NodeJS.ProcessEnv): Side {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${path.basename(args[0] ?? cmd)} failed (exit ${r.status}): ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Side;
}

/** Is the peer's BLAS an optimised one? Refuses the reference BLAS by the library mapped and by its speed. */
function checkPeer(peakPerCore: number): { ok: boolean; why: string; report: Record<string, unknown> } {
  const r = spawnSync(PYTHON, [path.join(here, 'torch_lora.py'), '--blas'], { env: envFor(1, true), encoding: 'utf8' });
  if (r.status !== 0) {
    return { ok: false, why: `PyTorch is not importable by ${PYTHON} (Debian: apt-get install python3-torch libopenblas0-pthread)`, report: { error: r.stderr.trim().split('\n').pop() } };
  }
  const report = JSON.parse(r.stdout.trim()) as { libraries: string[]; blas_info: string[]; sgemm_gflops: number };
  const reference = report.libraries.find((l) => /\/blas\/libblas\.so/.test(l) || (/libblas\.so/.test(l) && !/openblas|mkl|blis|atlas/i.test(l)));
  const rate = report.sgemm_gflops * 1e9;
  const fix = 'Install an optimised BLAS for it (Debian: apt-get install libopenblas0-pthread, which takes over libblas.so.3) and run again.';
  if (reference) {
    return { ok: false, report, why: `PyTorch's BLAS is the unoptimised reference BLAS (${reference}; sgemm ${report.sgemm_gflops.toFixed(1)} GFLOP/s on one thread), so its matrix products run at a fraction of this core's speed and no ratio is printed. ${fix}` };
  }
  if (peakPerCore > 0 && rate < 0.15 * peakPerCore) {
    return { ok: false, report, why: `PyTorch's sgemm runs at ${report.sgemm_gflops.toFixed(1)} GFLOP/s on one thread, ${((100 * rate) / peakPerCore).toFixed(0)}% of this core's FP32 peak: its BLAS is not an optimised one (${report.libraries.join(', ') || 'none found'}), so no ratio is printed. ${fix}` };
  }
  return { ok: true, why: '', report };
}

function shapeOf(model: GgufFile, s: Shape): Shape {
  const a = s.arch;
  const n = (k: string, d: number): number => metaNumber(model, `${a}.${k}`) ?? d;
  const vocab = model.tensors.find((t) => t.name === 'token_embd.weight')!.dims[1]!;
  return { ...s, embd: n('embedding_length', s.embd), ff: n('feed_forward_length', s.ff), layers: n('block_count', s.layers), heads: n('attention.head_count', s.heads), kvHeads: n('attention.head_count_kv', s.kvHeads), vocab };
}

function tokensFile(s: Shape, run: Run): string {
  const file = path.join(work, `tokens-${s.key}-${run.seq}-${run.batch}-${run.steps}.bin`);
  const next = rng(s.key.length * 7919);
  const all = new Int32Array(run.steps * run.batch * (run.seq + 1));
  for (let i = 0; i < all.length; i++) all[i] = 3 + Math.floor(next() * (s.vocab - 3));
  fs.writeFileSync(file, Buffer.from(all.buffer));
  return file;
}

function doctune(model: string, tokens: string, run: Run, n: number, precision: 'f32' | 'auto'): Side {
  const job = { model, tokens, ...run, threads: n, rank: RANK, alpha: ALPHA, lr: 1e-3, precision };
  return runJson(process.execPath, [path.join(here, 'train-doctune.mjs'), JSON.stringify(job)], envFor(n, false));
}

function pytorch(model: GgufFile, s: Shape, tokens: string, run: Run): Side {
  const tensors: Record<string, { offset: number; ne: number[] }> = {};
  for (const t of model.tensors) tensors[t.name] = { offset: t.offset, ne: t.dims };
  const a = s.arch;
  const cfg = {
    gguf: model.path, tensors, arch: a, threads, rank: RANK, alpha: ALPHA, lr: 1e-3, ...run, tokens, targets: LORA_TARGETS,
    hparams: {
      n_embd: s.embd, n_head: s.heads, n_head_kv: s.kvHeads, n_layer: s.layers,
      rms_eps: metaNumber(model, `${a}.attention.layer_norm_rms_epsilon`) ?? 1e-5, rope_base: metaNumber(model, `${a}.rope.freq_base`) ?? 10000,
    },
  };
  const file = path.join(work, `${s.key}-peer.json`);
  fs.writeFileSync(file, JSON.stringify(cfg));
  return runJson(PYTHON, [path.join(here, 'torch_lora.py'), file], envFor(threads, true));
}

const f = (x: number | null | undefined, d = 0): string => (x === null || x === undefined ? '—' : x.toFixed(d));
const pct = (x: number | null): string => (x === null ? '—' : `${(100 * x).toFixed(1)}%`);

async function main(): Promise<void> {
  const addon = loadAddon();
  if (!fs.existsSync(path.join(root, 'dist', 'engine', 'train', 'native-addon.js'))) die('the engine is not built: run npm run build:engine');
  fs.mkdirSync(work, { recursive: true });
  const peakPerCore = addon.cpuPeakFlops(1.0);
  const peakBf16PerCore = addon.cpuPeakFlops(1.0, 'bf16');
  const peakOf = (precision: string | undefined): number => (precision === 'bf16' ? peakBf16PerCore : peakPerCore) * threads;
  const peer = checkPeer(peakPerCore);
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`LoRA training benchmark on ${cpu}: rank ${RANK}, all 7 targets, ${threads} thread(s) each side, CPU`);
  console.log(`peak of one core, measured: FP32 ${(peakPerCore / 1e9).toFixed(0)} GFLOP/s, BF16 ${(peakBf16PerCore / 1e9).toFixed(0)} GFLOP/s; DocTune's matrix kernel: ${addon.cpuMatmulKernel()}`);
  if (peer.ok) console.log(`peer: PyTorch on ${(peer.report.libraries as string[]).join(', ') || 'its built-in BLAS'} (sgemm ${f(peer.report.sgemm_gflops as number)} GFLOP/s on one thread)`);
  else console.log(`peer: ${peer.why}`);

  const rows: Record<string, unknown>[] = [];
  const scaling: Record<string, unknown>[] = [];
  for (const s0 of shapes) {
    const run = runOf(s0);
    const f32 = await benchModel(work, s0, 'f32');
    const s = shapeOf(f32, s0);
    const tokens = tokensFile(s, run);
    const flops = flopsPerToken(s, run.seq, RANK);
    // F32 weights in F32 arithmetic: the same computation as the peer. Then DocTune as users run it (auto),
    // where that is another precision.
    const configs: { base: Base; precision: 'f32' | 'auto'; model: string }[] = [];
    for (const base of bases) {
      const model = (base === 'f32' ? f32 : await benchModel(work, s0, base)).path;
      for (const precision of base === 'f32' ? (['f32', 'auto'] as const) : (['auto'] as const)) configs.push({ base, precision, model });
    }
    const keep = (a: Side | null, b: Side): Side => (!a ? b : { ...(b.tokens_per_s > a.tokens_per_s ? b : a), rss_mb: Math.max(a.rss_mb, b.rss_mb) });
    let theirs: Side | null = null;
    const ourRuns: (Side | null)[] = configs.map(() => null);
    for (let r = 0; r < roundsOf(s); r++) {
      if (peer.ok) theirs = keep(theirs, pytorch(f32, s, tokens, run));
      configs.forEach((c, i) => (ourRuns[i] = keep(ourRuns[i]!, doctune(c.model, tokens, run, threads, c.precision))));
    }
    for (const [i, { base, precision }] of configs.entries()) {
      const ours = ourRuns[i]!;
      if (precision === 'auto' && base === 'f32' && ours.precision === 'f32') continue; // the row above
      const row = {
        shape: s.key, base, precision: ours.precision ?? precision, doctune_tok_s: ours.tokens_per_s, peer_tok_s: theirs?.tokens_per_s ?? null,
        ratio: theirs ? ours.tokens_per_s / theirs.tokens_per_s : null,
        doctune_mfu: (ours.tokens_per_s * flops) / peakOf(ours.precision), peer_mfu: theirs ? (theirs.tokens_per_s * flops) / peakOf('f32') : null,
        doctune_rss_mb: ours.rss_mb, peer_rss_mb: theirs?.rss_mb ?? null,
      };
      rows.push(row);
      console.log(`  ${`${s.key} ${base} ${row.precision}`.padEnd(24)} DocTune ${f(ours.tokens_per_s).padStart(6)} tok/s (${f(ours.ms_per_step, 1)} ms/step, loss ${f(ours.first_loss, 3)}→${f(ours.last_loss, 3)}, ${f(ours.rss_mb)} MB)` +
        (theirs ? `   PyTorch ${f(theirs.tokens_per_s).padStart(6)} tok/s (${f(theirs.ms_per_step, 1)} ms/step, loss ${f(theirs.first_loss, 3)}→${f(theirs.last_loss, 3)}, ${f(theirs.rss_mb)} MB)` : ''));
    }
    // Thread scaling: the first row's DocTune run again on two threads, where the machine has two cores.
    if (threads === 1 && s.key !== 'stories260K' && os.availableParallelism() >= 2) {
      const first = rows.find((r) => r.shape === s.key)!;
      const one = first.doctune_tok_s as number;
      let two = 0;
      for (let r = 0; r < roundsOf(s); r++) two = Math.max(two, doctune(configs[0]!.model, tokens, run, 2, configs[0]!.precision).tokens_per_s);
      scaling.push({ shape: s.key, base: bases[0], precision: first.precision, tok_s_1: one, tok_s_2: two, speedup: two / one });
    }
  }

  const results = path.join(root, 'bench', 'results');
  fs.mkdirSync(results, { recursive: true });
  fs.writeFileSync(path.join(results, 'train.json'), `${JSON.stringify({
    threads, rows, scaling, cpu, peak_flops_per_core: peakPerCore, peak_bf16_flops_per_core: peakBf16PerCore, kernel: addon.cpuMatmulKernel(), rank: RANK,
    runs: Object.fromEntries(shapes.map((s) => [s.key, { ...runOf(s), rounds: roundsOf(s) }])), peer: peer.ok ? peer.report : { error: peer.why, ...peer.report },
    date: new Date().toISOString(),
  }, null, 2)}\n`);

  console.log(`\n${'shape'.padEnd(14)}${'base'.padEnd(6)}${'prec.'.padEnd(6)}${'DocTune tok/s'.padStart(14)}${'PyTorch tok/s'.padStart(15)}${'ratio'.padStart(8)}${'MFU DocTune / PyTorch'.padStart(24)}${'RSS MB DocTune / PyTorch'.padStart(27)}${'RSS ratio'.padStart(11)}`);
  for (const r of rows as { shape: string; base: string; precision: string; doctune_tok_s: number; peer_tok_s: number | null; ratio: number | null; doctune_mfu: number; peer_mfu: number | null; doctune_rss_mb: number; peer_rss_mb: number | null }[]) {
    console.log(`${r.shape.padEnd(14)}${r.base.padEnd(6)}${r.precision.padEnd(6)}${f(r.doctune_tok_s).padStart(14)}${f(r.peer_tok_s).padStart(15)}${(r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×`).padStart(8)}` +
      `${`${pct(r.doctune_mfu)} / ${pct(r.peer_mfu)}`.padStart(24)}${`${f(r.doctune_rss_mb)} / ${f(r.peer_rss_mb)}`.padStart(27)}` +
      `${(r.peer_rss_mb ? `${(r.doctune_rss_mb / r.peer_rss_mb).toFixed(2)}×` : '—').padStart(11)}`);
  }
  for (const sc of scaling as { shape: string; base: string; precision: string; tok_s_1: number; tok_s_2: number; speedup: number }[]) {
    console.log(`threads: ${sc.shape} ${sc.base} ${sc.precision} ${f(sc.tok_s_1)} tok/s on 1, ${f(sc.tok_s_2)} on 2: ${sc.speedup.toFixed(2)}×`);
  }
  console.log('goals: F32 weights in F32 ≥ 1.2× PyTorch (stories15M, 0.5B); Q8_0/Q4_K ≥ 1.5× PyTorch F32 at ≤ 0.35× its peak RSS; 2 threads ≥ 1.7× one');
  console.log(`results: ${path.relative(process.cwd(), path.join(results, 'train.json'))}`);
  if (!peer.ok) {
    console.error(`bench:train: no ratio: ${peer.why}`);
    process.exit(1);
  }
}

await main();

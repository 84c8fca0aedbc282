import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { DocTuneError } from '../errors.js';
import { readGguf, type GgufFile } from '../models/gguf/gguf-reader.js';
import { writeLoraAdapter, type LoraAdapter } from '../models/lora-adapter.js';
import { writeAdapterExports } from '../models/adapter-export.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { chooseDevice, deviceUnavailable } from './device-choice.js';
import { chooseCheckpointing, describePlan, decideLoad, estimateStaticMemory, mib, proposeSmallerStep, stepFits } from './memory-plan.js';
import { backendDirs, loadAddon, targetBits, type DeviceInfo, type MemoryPlan, type NativeTrainer } from './native-addon.js';
import type { TokenizedExample } from './sft-data.js';
import type { Conversation } from '../models/messages.js';
import type { FitSummary } from './sequence-length.js';
import { fingerprint, learningRate, shuffled, type TrainConfig } from './train-config.js';
import { defaultThreads } from '../threads.js';
import { writeRunRecord } from './run-record.js';

export type TrainEvent =
  | {
    type: 'plan'; device: DeviceInfo; backend: string; notes: string; seq: number; compactTransposed: boolean; memory: MemoryPlan;
    /** Sequences per micro-batch (fewer than asked when the step did not fit), and per optimizer update. */
    batch: number; perUpdate: number;
    /** The products' precision in effect, and how auto chose it (or why a request was emulated). */
    precision: string; precisionNote: string;
    /** Activation checkpointing is on (asked for, or turned on because the step did not fit without it). */
    checkpointing: boolean;
  }
  | { type: 'start'; arch: string; backend: string; trainableParams: number; trainExamples: number; evalExamples: number; totalSteps: number; resumedAt: number }
  | { type: 'step'; step: number; totalSteps: number; epoch: number; loss: number; lr: number; gradNorm: number; tokensPerSecond: number; etaSeconds: number; memoryMb: number }
  | { type: 'epoch'; epoch: number; trainLoss: number; evalLoss: number | null }
  | { type: 'checkpoint'; step: number; path: string };

export interface TrainResult {
  adapter: string;
  steps: number;
  train_loss: number;
  eval_loss: number | null;
  tokens_per_s: number;
  run: string;
  /** Ollama Modelfile and a how-to for llama.cpp, LM Studio and OpenAI clients, next to the adapter. */
  modelfile: string;
  howto: string;
  device: { backend: string; name: string; description: string; memory_free: number; memory_total: number };
  /** Scheduler splits of the training step (1: whole on the device) and nodes that fell back to the CPU. */
  splits: number;
  cpu_fallbacks: number;
  /** The products' precision in effect, and whether layers were recomputed in the backward. */
  precision: string;
  checkpointing: boolean;
}

export interface TrainHooks {
  onEvent(e: TrainEvent): void;
  /** Checked at every step boundary. */
  cancelled(): boolean;
  /** Resume from the checkpoint in this folder. */
  resumeFrom?: string;
  modelSha256: string;
  /** The conversations the examples came from: the held-out ones are recorded in run.json for `doctune eval`. */
  conversations?: Conversation[];
  /** What preparing the data did to fit it to the sequence length (recorded in run.json). */
  fit?: FitSummary;
}

export const CHECKPOINT_FILE = 'checkpoint.bin';

/** Split off the evaluation examples (seeded), keeping at least one for training. */
export function splitExamples(data: TokenizedExample[], evalSplit: number, seed: number): { train: TokenizedExample[]; evaluation: TokenizedExample[] } {
  const order = shuffled(data.map((_, i) => i), seed ^ 0x5eed);
  // A requested split holds out at least one example (a small set would otherwise round to none).
  const nEval = data.length >= 2 && evalSplit > 0 ? Math.min(data.length - 1, Math.max(1, Math.round(data.length * evalSplit))) : 0;
  return { evaluation: order.slice(0, nEval).map((i) => data[i]!), train: order.slice(nEval).map((i) => data[i]!) };
}

/** Conversations whose every example was held out of training (what `doctune eval` may score on). */
function heldOut(conversations: Conversation[] | undefined, train: TokenizedExample[], evaluation: TokenizedExample[]): Conversation[] {
  if (!conversations) return [];
  const trained = new Set(train.map((e) => e.conversation));
  const ids = new Set(evaluation.map((e) => e.conversation).filter((c): c is number => c !== undefined && !trained.has(c)));
  return [...ids].sort((a, b) => a - b).map((i) => conversations[i]!);
}

/** Sequence lengths are rounded up to this, so that batches of similar length share a graph shape. */
const LENGTH_STEP = 16;
const roundUp = (n: number, step: number): number => Math.ceil(n / step) * step;

/** Sequences padded to one length (label -1: no loss), sequence-major, as the native step takes them. */
export function packBatch(examples: readonly TokenizedExample[], maxLen: number): { tokens: Int32Array; labels: Int32Array; length: number } {
  const longest = Math.max(...examples.map((e) => e.tokens.length));
  const length = Math.min(maxLen, roundUp(longest, LENGTH_STEP));
  const tokens = new Int32Array(length * examples.length);
  const labels = new Int32Array(length * examples.length).fill(-1);
  examples.forEach((e, i) => {
    tokens.set(e.tokens.slice(0, length), i * length);
    labels.set(e.labels.slice(0, length), i * length);
  });
  return { tokens, labels, length };
}

async function meanLoss(t: NativeTrainer, examples: TokenizedExample[], batch: number, maxLen: number): Promise<number | null> {
  if (!examples.length) return null;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < examples.length; i += batch) {
    const mb = examples.slice(i, i + batch);
    const { tokens, labels } = packBatch(mb, maxLen);
    sum += await t.loss(tokens, labels, false, mb.length);
    n++;
  }
  return sum / n;
}

/**
 * Open the trainer on the configured device after checking that the model fits (compact transposed copies
 * if only those fit), then measure the step for the longest batch and reserve it. A step that does not fit
 * is measured again with activation checkpointing (unless it is off); if it still does not fit, training is
 * refused with the numbers and the largest batch/sequence length that fits.
 */
async function openTrainer(config: TrainConfig, base: GgufFile, longest: number): Promise<{ t: NativeTrainer; plan: MemoryPlan; seq: number; batch: number; compactTransposed: boolean; checkpointing: boolean }> {
  const addon = loadAddon();
  const dirs = backendDirs();
  const { devices, notes } = addon.listDevices(dirs);
  // A device asked for by name is that device or none (auto takes the best there is).
  const device = chooseDevice(devices, config.device, notes);
  const onCpuKernel = device.backend.toUpperCase() === 'CPU' && addon.cpuMatmulKernel() !== 'none';
  const fixed = estimateStaticMemory(base, config.rank, config.targets, !onCpuKernel);
  const load = decideLoad(fixed, device.memoryFree, `${device.name} (${device.description})`);
  const t = await addon.createTrainer({
    modelPath: config.modelPath,
    backendDirs: dirs,
    device: config.device,
    rank: config.rank,
    alpha: config.alpha,
    targets: targetBits(config.targets),
    seed: config.seed,
    threads: config.threads > 0 ? config.threads : await defaultThreads(),
    compactTransposed: load.compactTransposed,
    precision: config.precision,
  });
  try {
    // The device was listed but could not be started: the native side fell back, which only auto allows.
    const opened = t.info();
    if (config.device !== 'auto' && opened.device.backend.toLowerCase() !== config.device) throw deviceUnavailable(config.device, devices, opened.notes || notes);
    const seq = Math.min(config.seq, roundUp(longest, LENGTH_STEP));
    const { checkpointing, plan } = chooseCheckpointing((on) => {
      t.setCheckpointing(on);
      return t.plan(seq, config.batch, false);
    }, config.checkpointing);
    // A step that does not fit runs as smaller micro-batches, accumulated to the same effective batch (the
    // same data per update, so a resumed run is unaffected); only a single sequence too long is refused.
    let batch = config.batch;
    let measured = plan;
    while (!stepFits(measured) && batch > 1) {
      batch = Math.floor(batch / 2);
      measured = t.plan(seq, batch, false);
    }
    if (!stepFits(measured)) {
      const fits = proposeSmallerStep((s, b) => t.plan(s, b, false), seq, config.batch, longest);
      const name = t.info().device.name;
      const withCheckpointing = config.checkpointing === 'off' ? ' (or --checkpointing on: layers recomputed in the backward, about a third more compute)' : '';
      throw new DocTuneError(
        'OUT_OF_MEMORY',
        `a step of ${config.batch} × ${seq} tokens needs ${mib(plan.compute)} on ${name}, but ${mib(plan.deviceFree)} are free (${describePlan(plan)}). ` +
          (fits ? `Try --batch ${fits.batch}${fits.seq !== seq ? ` --seq ${fits.seq}` : ''} (with --accum to keep the effective batch)${withCheckpointing}.` : 'Even one sequence does not fit: use a smaller model or another --device.'),
      );
    }
    return { t, plan: t.plan(seq, batch, true), seq, batch, compactTransposed: load.compactTransposed, checkpointing };
  } catch (err) {
    t.dispose();
    throw err;
  }
}

/** The trainer's parameters as llama.cpp's adapter format (pairs in parameter order). */
export function adapterFromParams(t: NativeTrainer, rank: number, alpha: number): LoraAdapter {
  const values = t.getParams();
  const descs = t.paramDescs();
  const pairs: LoraAdapter['pairs'] = [];
  let off = 0;
  for (let i = 0; i < descs.length; i += 2) {
    const na = descs[i]!.ne[0] * descs[i]!.ne[1];
    const nb = descs[i + 1]!.ne[0] * descs[i + 1]!.ne[1];
    pairs.push({ target: descs[i]!.name.replace(/\.lora_a$/, ''), a: values.slice(off, off + na), b: values.slice(off + na, off + na + nb) });
    off += na + nb;
  }
  return { rank, alpha, pairs };
}

/**
 * The training loop: seeded data order per epoch, `batch` sequences per gradient, `accum` gradients per
 * AdamW step, warmup + cosine learning rate, evaluation loss each epoch, a checkpoint every
 * `checkpointEvery` steps (params, AdamW moments, step and data position), and the adapter at the end.
 */
export async function trainAdapter(config: TrainConfig, data: TokenizedExample[], outDir: string, hooks: TrainHooks): Promise<TrainResult> {
  if (!data.length) throw new DocTuneError('BAD_ARGUMENT', 'no training examples');
  await fs.mkdir(outDir, { recursive: true });
  const base = await readGguf(config.modelPath);
  const longest = Math.max(...data.map((d) => d.tokens.length));
  // A resumed run continues at the precision it trained at when left to choose (auto): the same run, the
  // same arithmetic, whatever a new measurement on a busy machine would say.
  const resumed = hooks.resumeFrom ? await readCheckpoint(path.join(hooks.resumeFrom, CHECKPOINT_FILE)) : null;
  const precision = config.precision === 'auto' && resumed?.precision ? (resumed.precision as TrainConfig['precision']) : config.precision;
  const { t, plan, seq, batch: microBatch, compactTransposed, checkpointing } = await openTrainer({ ...config, precision }, base, longest);
  try {
    const info = t.info();
    hooks.onEvent({
      type: 'plan', device: info.device, backend: info.backend, notes: info.notes, seq, batch: microBatch, perUpdate: config.batch * config.accum, compactTransposed, memory: plan,
      precision: info.precision, precisionNote: info.precisionNote, checkpointing,
    });
    const { train, evaluation } = splitExamples(data, config.evalSplit, config.seed);
    const perStep = config.batch * config.accum;
    const stepsPerEpoch = Math.ceil(train.length / perStep);
    const totalSteps = stepsPerEpoch * config.epochs;
    const print = fingerprint(config, hooks.modelSha256, data);
    let step = 0;
    let epoch = 0;
    let index = 0;
    let trainLosses: number[] = [];
    let evalLosses: number[] = [];
    if (hooks.resumeFrom && resumed) {
      const ck = resumed;
      if (ck.fingerprint !== print) {
        throw new DocTuneError('BAD_ARGUMENT', 'the checkpoint belongs to a different model, data set or settings; resume with the same ones', { path: hooks.resumeFrom });
      }
      t.setParams(ck.params);
      t.setOptimizer(ck.m, ck.v, ck.optimizerStep);
      ({ step, epoch, index, trainLosses, evalLosses } = ck);
    }
    hooks.onEvent({ type: 'start', arch: info.arch, backend: `${info.device.backend} ${info.device.description}`, trainableParams: info.nParams, trainExamples: train.length, evalExamples: evaluation.length, totalSteps, resumedAt: step });

    const saveCheckpoint = async (): Promise<void> => {
      const opt = t.getOptimizer();
      const file = path.join(outDir, CHECKPOINT_FILE);
      await writeCheckpoint(file, { step, epoch, index, fingerprint: print, trainLosses, evalLosses, params: t.getParams(), m: opt.m, v: opt.v, optimizerStep: opt.step, precision: info.precision });
      hooks.onEvent({ type: 'checkpoint', step, path: file });
    };

    const started = Date.now();
    let tokensSeen = 0;
    let stepsThisRun = 0;
    let epochLossSum = 0;
    let epochLossCount = 0;
    while (epoch < config.epochs) {
      const order = shuffled(train, config.seed + epoch);
      while (index < order.length) {
        if (hooks.cancelled()) {
          await saveCheckpoint();
          throw new DocTuneError('CANCELLED', `training stopped at step ${step}; resume with --resume ${outDir}`);
        }
        const group = order.slice(index, index + perStep);
        let lossSum = 0;
        let micro = 0;
        for (let i = 0; i < group.length; i += microBatch) {
          const mb = group.slice(i, i + microBatch);
          const { tokens, labels } = packBatch(mb, seq);
          lossSum += await t.loss(tokens, labels, true, mb.length);
          micro++;
          for (const ex of mb) tokensSeen += ex.tokens.length;
        }
        const lr = learningRate(config, step, totalSteps);
        const gradNorm = await t.adamwStep({ lr, weightDecay: config.weightDecay, clip: config.clip, accum: micro });
        const loss = lossSum / micro;
        index += group.length;
        step++;
        stepsThisRun++;
        trainLosses.push(loss);
        epochLossSum += loss;
        epochLossCount++;
        const elapsed = (Date.now() - started) / 1000;
        hooks.onEvent({
          type: 'step', step, totalSteps, epoch: epoch + 1, loss, lr, gradNorm,
          tokensPerSecond: tokensSeen / Math.max(elapsed, 1e-3),
          etaSeconds: ((totalSteps - step) * elapsed) / Math.max(stepsThisRun, 1),
          memoryMb: Math.round(process.memoryUsage().rss / 1048576),
        });
        if (config.checkpointEvery > 0 && step % config.checkpointEvery === 0 && step < totalSteps) await saveCheckpoint();
      }
      const evalLoss = await meanLoss(t, evaluation, microBatch, seq);
      if (evalLoss !== null) evalLosses.push(evalLoss);
      hooks.onEvent({ type: 'epoch', epoch: epoch + 1, trainLoss: epochLossCount ? epochLossSum / epochLossCount : NaN, evalLoss });
      epochLossSum = 0;
      epochLossCount = 0;
      epoch++;
      index = 0;
    }
    await saveCheckpoint();

    // Each run writes a new file: llama.cpp front ends cache adapters by path.
    const adapter = path.join(outDir, `adapter-${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}.gguf`);
    await writeLoraAdapter(adapter, base, adapterFromParams(t, config.rank, config.alpha));
    const exports = await writeAdapterExports(adapter, config.modelPath);
    const elapsed = (Date.now() - started) / 1000;
    const result: TrainResult = {
      adapter,
      steps: step,
      train_loss: trainLosses.at(-1) ?? NaN,
      eval_loss: evalLosses.at(-1) ?? null,
      tokens_per_s: Math.round(tokensSeen / Math.max(elapsed, 1e-3)),
      run: path.join(outDir, 'run.json'),
      modelfile: exports.modelfile,
      howto: exports.howto,
      device: { backend: info.device.backend, name: info.device.name, description: info.device.description, memory_free: info.device.memoryFree, memory_total: info.device.memoryTotal },
      splits: t.info().nSplits,
      cpu_fallbacks: t.info().nFallbacks,
      precision: info.precision,
      checkpointing,
    };
    const record = {
      base_model: { path: path.resolve(config.modelPath), sha256: hooks.modelSha256, arch: info.arch },
      config,
      adapter,
      backend: info.backend,
      device: result.device,
      memory_plan: { ...plan, seq, batch: microBatch, compact_transposed: compactTransposed, checkpointing },
      precision: { used: info.precision, note: info.precisionNote, cpu_matmul: info.cpuMatmul },
      graph: { splits: result.splits, cpu_fallbacks: result.cpu_fallbacks },
      trainable_params: info.nParams,
      examples: { train: train.length, eval: evaluation.length },
      ...(hooks.fit ? { data_fit: hooks.fit } : {}),
      held_out: heldOut(hooks.conversations, train, evaluation),
      losses: { train: trainLosses, eval: evalLosses },
      timings: { seconds: elapsed, tokens_per_s: result.tokens_per_s },
      finished_at: new Date().toISOString(),
    };
    await writeRunRecord(result.run, record);
    return result;
  } finally {
    t.dispose();
  }
}

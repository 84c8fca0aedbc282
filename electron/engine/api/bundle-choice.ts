/** What `doctune dataset export --bundle` trains with: a run's settings (or DocTune's defaults) for the base model. */
import path from 'node:path';
import { llamaFactoryTemplate, llamaFactoryTemplateNote, type BundleTraining } from '../dataset/training-bundle.js';
import { metaNumber, metaString, readGguf } from '../models/gguf/gguf-reader.js';
import { resolveModelArg } from '../models/model-arg.js';
import { hfRepoOf, hfTargetNames } from '../models/peft-adapter.js';
import { autoSeq } from '../train/sequence-length.js';
import { DEFAULT_TRAIN_CONFIG } from '../train/train-config.js';
import { DocTuneError } from '../errors.js';
import { readRunRecord, type RunRecord } from '../train/run-record.js';

export interface BundleChoice {
  baseModel: string;
  template: string;
  /** Where LLaMA-Factory's template differs from the model's own chat template. */
  templateNote: string | null;
  training: BundleTraining;
  ggufPath: string | undefined;
  /** The run's held-out questions: left out of the bundle, so that `doctune eval` on them stays fair. */
  heldOut: Set<string>;
}

export async function bundleChoice(o: { run?: string; model?: string; base?: string; template?: string }): Promise<BundleChoice> {
  let run: Partial<RunRecord> = {};
  if (o.run) {
    const file = path.join(path.resolve(o.run), 'run.json');
    const record = await readRunRecord(file);
    if (!record) throw new DocTuneError('NOT_FOUND', `no run record at ${file}: give a training run's folder to --run`, { path: file });
    run = record;
  }
  const modelSpec = o.model ?? run.base_model?.path;
  const ggufPath = modelSpec ? await resolveModelArg(modelSpec) : undefined;
  const gguf = ggufPath ? await readGguf(ggufPath) : null;
  const arch = (gguf && metaString(gguf, 'general.architecture')) ?? 'llama';
  const baseModel = o.base ?? (gguf ? hfRepoOf(gguf) : null);
  if (!baseModel) {
    throw new DocTuneError('BAD_ARGUMENT', 'name the Hugging Face model to train: --base ORG/MODEL (or --model BASE.gguf when the GGUF records the model it was converted from)');
  }
  const c = { ...DEFAULT_TRAIN_CONFIG, ...(run.config ?? {}) };
  const context = gguf ? metaNumber(gguf, `${arch}.context_length`) : undefined;
  // The run's sequence length as it trained (auto resolved), else the model's context capped as DocTune does.
  const seq = run.memory_plan?.seq ?? (c.seq > 0 ? c.seq : autoSeq(context));
  const chatTemplate = (gguf && metaString(gguf, 'tokenizer.chat_template')) ?? '';
  const template = o.template ?? llamaFactoryTemplate(arch, chatTemplate);
  return {
    baseModel,
    template,
    templateNote: llamaFactoryTemplateNote(template, chatTemplate),
    ggufPath,
    heldOut: new Set((run.held_out ?? []).map((c) => c.find((m) => m.role === 'user')?.content ?? '').filter(Boolean)),
    training: {
      rank: c.rank, alpha: c.alpha, targets: hfTargetNames(c.targets, arch), epochs: c.epochs, lr: c.lr, seq,
      batch: c.batch, accum: c.accum, warmupRatio: c.warmupRatio, weightDecay: c.weightDecay, seed: c.seed,
    },
  };
}

/**
 * A training bundle for the engines teams run on GPU clusters: the accepted pairs, the dataset description,
 * and ready-to-run LoRA configs for LLaMA-Factory or Axolotl (one GPU, and several with DeepSpeed ZeRO-3),
 * with the same rank, alpha, targets, epochs, learning rate and sequence length as a DocTune run, plus the
 * commands to train, to bring the adapter back (`doctune adapter import`) and to serve it with vLLM.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { writeFileAtomic } from '../atomic-write.js';
import type { QaPairRow } from '../store/schema.js';
import { exportPairs } from './export.js';

import type { BundleEngine } from '../../shared/pipeline-schemas.js';
export { BUNDLE_ENGINES, type BundleEngine } from '../../shared/pipeline-schemas.js';

export interface BundleTraining {
  rank: number;
  alpha: number;
  /** Hugging Face module names (q_proj, …). */
  targets: string[];
  epochs: number;
  lr: number;
  /** Longest sequence in tokens. */
  seq: number;
  batch: number;
  accum: number;
  warmupRatio: number;
  weightDecay: number;
  seed: number;
}

export interface BundleOptions {
  engine: BundleEngine;
  outDir: string;
  pairs: QaPairRow[];
  /** The Hugging Face model the base GGUF was converted from. */
  baseModel: string;
  /** LLaMA-Factory's template name for that model (Axolotl uses the tokenizer's own chat template). */
  template: string;
  /** Where that template differs from the model's own (llamaFactoryTemplateNote). */
  templateNote?: string | null;
  training: BundleTraining;
  /** The base GGUF, for the command that brings the adapter back. */
  ggufPath?: string;
}

export interface Bundle {
  dir: string;
  files: string[];
  commands: { train: string; trainMultiGpu: string; importBack: string; serve: string };
}

/** LLaMA-Factory's template for a GGUF's architecture and chat template. */
export function llamaFactoryTemplate(arch: string, chatTemplate: string): string {
  if (arch === 'qwen3') return 'qwen3';
  if (arch === 'qwen2') return 'qwen';
  if (arch === 'gemma3') return 'gemma3';
  if (arch === 'phi3') return 'phi';
  if (arch === 'llama') return chatTemplate.includes('<|start_header_id|>') ? 'llama3' : chatTemplate.includes('<|im_start|>') ? 'qwen' : 'llama2';
  return 'default';
}

/**
 * Where LLaMA-Factory's template differs from the model's own, what the user should know; null when it matches.
 * Its `phi` template (Phi-3) puts a newline after each role marker; Phi-4-mini's own template has none.
 */
export function llamaFactoryTemplateNote(template: string, chatTemplate: string): string | null {
  if (template === 'phi' && chatTemplate.includes('<|') && !/\|>(?:\\n|\n)/.test(chatTemplate)) {
    return "LLaMA-Factory's `phi` template puts a newline after each role marker (`<|user|>`, `<|assistant|>`); this model's own chat template (Phi-4-mini style) does not, so the adapter would learn a slightly different format from the one it is chatted in. The Axolotl bundle trains in the model's own template.";
  }
  return null;
}

/** DeepSpeed ZeRO-3 as both engines document it (values left to the launcher where it can set them). */
const ZERO3 = {
  train_batch_size: 'auto',
  train_micro_batch_size_per_gpu: 'auto',
  gradient_accumulation_steps: 'auto',
  gradient_clipping: 'auto',
  zero_allow_untested_optimizer: true,
  bf16: { enabled: 'auto' },
  zero_optimization: {
    stage: 3,
    overlap_comm: true,
    contiguous_gradients: true,
    sub_group_size: 1e9,
    reduce_bucket_size: 'auto',
    stage3_prefetch_bucket_size: 'auto',
    stage3_param_persistence_threshold: 'auto',
    stage3_max_live_parameters: 1e9,
    stage3_max_reuse_distance: 1e9,
    stage3_gather_16bit_weights_on_model_save: true,
  },
};

export async function writeTrainingBundle(o: BundleOptions): Promise<Bundle> {
  const dir = path.resolve(o.outDir);
  await fs.mkdir(dir, { recursive: true });
  const t = o.training;
  const files: string[] = [];
  const write = async (name: string, body: string): Promise<void> => {
    const file = path.join(dir, name);
    await writeFileAtomic(file, body);
    files.push(file);
  };
  await write('ds_z3_config.json', `${JSON.stringify(ZERO3, null, 2)}\n`);
  const adapterOut = o.engine === 'llama-factory' ? 'saves/doctune-lora' : 'outputs/doctune-lora';
  const header = `# Written by DocTune: ${o.pairs.length} reviewed QA pairs, LoRA r=${t.rank} alpha=${t.alpha}. See README.md.\n`;

  let single: Record<string, unknown>;
  let multi: Record<string, unknown>;
  let train: string;
  let trainMultiGpu: string;
  if (o.engine === 'llama-factory') {
    // ShareGPT-style messages, described in dataset_info.json beside them.
    files.push(await exportPairs(o.pairs, 'sharegpt', path.join(dir, 'doctune.json'), { name: 'doctune' }));
    files.push(path.join(dir, 'dataset_info.json'));
    single = {
      model_name_or_path: o.baseModel,
      stage: 'sft',
      do_train: true,
      finetuning_type: 'lora',
      lora_rank: t.rank,
      lora_alpha: t.alpha,
      lora_dropout: 0,
      lora_target: t.targets.join(','),
      dataset: 'doctune',
      dataset_dir: '.',
      template: o.template,
      cutoff_len: t.seq,
      overwrite_cache: true,
      output_dir: adapterOut,
      logging_steps: 10,
      save_steps: 500,
      per_device_train_batch_size: t.batch,
      gradient_accumulation_steps: t.accum,
      learning_rate: t.lr,
      num_train_epochs: t.epochs,
      lr_scheduler_type: 'cosine',
      warmup_ratio: t.warmupRatio,
      weight_decay: t.weightDecay,
      seed: t.seed,
      bf16: true,
    };
    multi = { ...single, deepspeed: 'ds_z3_config.json' };
    await write('train_lora.yaml', header + stringify(single));
    await write('train_lora_multi_gpu.yaml', header + stringify(multi));
    train = 'llamafactory-cli train train_lora.yaml';
    trainMultiGpu = 'FORCE_TORCHRUN=1 llamafactory-cli train train_lora_multi_gpu.yaml';
  } else {
    files.push(await exportPairs(o.pairs, 'messages', path.join(dir, 'doctune.jsonl'), { name: 'doctune' }));
    single = {
      base_model: o.baseModel,
      chat_template: 'tokenizer_default',
      datasets: [{ path: 'doctune.jsonl', ds_type: 'json', type: 'chat_template', field_messages: 'messages', message_property_mappings: { role: 'role', content: 'content' } }],
      dataset_prepared_path: 'last_run_prepared',
      val_set_size: 0,
      output_dir: adapterOut,
      adapter: 'lora',
      lora_r: t.rank,
      lora_alpha: t.alpha,
      lora_dropout: 0,
      lora_target_modules: t.targets,
      sequence_len: t.seq,
      sample_packing: false,
      train_on_inputs: false,
      micro_batch_size: t.batch,
      gradient_accumulation_steps: t.accum,
      num_epochs: t.epochs,
      learning_rate: t.lr,
      lr_scheduler: 'cosine',
      warmup_ratio: t.warmupRatio,
      weight_decay: t.weightDecay,
      optimizer: 'adamw_torch',
      seed: t.seed,
      bf16: 'auto',
      gradient_checkpointing: true,
      logging_steps: 10,
    };
    multi = { ...single, deepspeed: 'ds_z3_config.json' };
    await write('axolotl.yaml', header + stringify(single));
    await write('axolotl_multi_gpu.yaml', header + stringify(multi));
    train = 'axolotl train axolotl.yaml';
    trainMultiGpu = 'axolotl train axolotl_multi_gpu.yaml --launcher accelerate';
  }
  const gguf = o.ggufPath ?? 'BASE.gguf';
  const commands = {
    train,
    trainMultiGpu,
    importBack: `doctune adapter import ${adapterOut} --model ${gguf} --out doctune-adapter.gguf`,
    serve: `vllm serve ${o.baseModel} --enable-lora --lora-modules doctune=${adapterOut} --max-lora-rank ${Math.max(8, 2 ** Math.ceil(Math.log2(t.rank)))}`,
  };
  await write('README.md', [
    `# DocTune training bundle (${o.engine})`,
    '',
    `${o.pairs.length} reviewed QA pairs from DocTune, to train a LoRA adapter on \`${o.baseModel}\` with the settings of a DocTune run:`,
    `rank ${t.rank}, alpha ${t.alpha}, targets ${t.targets.join(', ')}, ${t.epochs} epochs, learning rate ${t.lr}, sequences of up to ${t.seq} tokens.`,
    '',
    '```sh',
    '# one GPU',
    commands.train,
    '# several GPUs (DeepSpeed ZeRO-3)',
    commands.trainMultiGpu,
    '# the adapter back into DocTune (chat, evaluation, doctune serve)',
    commands.importBack,
    '# serving the base model with the adapter at scale',
    commands.serve,
    '```',
    '',
    ...(o.engine === 'llama-factory' && o.templateNote ? [`**Chat template:** ${o.templateNote}`, ''] : []),
  ].join('\n'));
  return { dir, files, commands };
}

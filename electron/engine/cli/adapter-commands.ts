/**
 * `doctune adapter export|import`: adapters between DocTune (llama.cpp GGUF) and Hugging Face PEFT, for the
 * engines that train or serve at scale (LLaMA-Factory, Axolotl, vLLM).
 */
import path from 'node:path';
import { type Command } from 'commander';
import { resolveModelArg } from '../models/model-arg.js';
import { exportPeftAdapter, importPeftAdapter } from '../models/peft-adapter.js';
import { resolveAdapterArg } from './adapter-arg.js';
import { oneOf, UsageError } from './options.js';
import { readRunRecord } from '../train/run-record.js';

/** The base model a run's adapter was trained on, from the run record beside it. */
async function runBaseModel(adapterPath: string): Promise<string | null> {
  return (await readRunRecord(path.join(path.dirname(adapterPath), 'run.json')))?.base_model.path ?? null;
}

export function addAdapterCommands(program: Command, print: (json: boolean, value: unknown, text: () => string) => void): void {
  const adapter = program.command('adapter').description('convert LoRA adapters between DocTune (GGUF) and Hugging Face PEFT');

  adapter
    .command('export')
    .description('write a DocTune adapter as a PEFT adapter (adapter_model.safetensors + adapter_config.json) for vLLM, transformers or further training')
    .argument('<adapter>', 'the adapter .gguf, or a training run\'s folder')
    .requiredOption('--out <dir>', 'folder to write')
    .option('--format <format>', 'peft', oneOf(['peft'] as const), 'peft')
    .option('-m, --model <model>', 'the base model the adapter was trained on (default: the one its run.json names)')
    .option('--base <hf-model>', 'the Hugging Face model the base GGUF was converted from (default: what the GGUF records)')
    .option('--json', 'print the result as JSON')
    .action(async (arg: string, opts: { out: string; model?: string; base?: string; json?: boolean }) => {
      const adapterPath = await resolveAdapterArg(arg);
      const model = opts.model ? await resolveModelArg(opts.model) : await runBaseModel(adapterPath);
      if (!model) throw new UsageError(`the adapter has no run.json naming its base model: give it with --model BASE.gguf (${adapterPath})`);
      const result = await exportPeftAdapter(adapterPath, model, path.resolve(opts.out), opts.base ? { baseModel: opts.base } : {});
      print(Boolean(opts.json), result, () => [
        `PEFT adapter for ${result.baseModel} (${result.targetModules.join(', ')}):`,
        ...result.files.map((f) => `  ${f}`),
        `Serve it with vLLM: vllm serve ${result.baseModel} --enable-lora --lora-modules doctune=${result.dir}`,
      ].join('\n'));
    });

  adapter
    .command('import')
    .description('read a PEFT LoRA adapter (trained elsewhere) into a DocTune adapter for chat, eval and serve')
    .argument('<dir>', 'the PEFT adapter folder (adapter_config.json + adapter_model.safetensors)')
    .requiredOption('-m, --model <model>', 'the base model: a GGUF path, hf: URI or Ollama model name (converted from the Hugging Face model the adapter was trained on)')
    .requiredOption('--out <file>', 'the adapter .gguf to write')
    .option('--json', 'print the result as JSON')
    .action(async (dir: string, opts: { model: string; out: string; json?: boolean }) => {
      const model = await resolveModelArg(opts.model);
      const out = path.resolve(opts.out);
      if (!out.toLowerCase().endsWith('.gguf')) throw new UsageError(`--out must name a .gguf file (${out})`);
      const result = await importPeftAdapter(path.resolve(dir), model, out);
      print(Boolean(opts.json), result, () => `Imported ${result.pairs} LoRA pairs (rank ${result.rank}, alpha ${result.alpha}) into ${result.path}\nChat with it: doctune chat --model ${model} --adapter ${result.path}`);
    });
}

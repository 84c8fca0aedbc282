/**
 * `doctune adapter export|import`: adapters between DocTune (llama.cpp GGUF) and Hugging Face PEFT, for the
 * engines that train or serve at scale (LLaMA-Factory, Axolotl, vLLM).
 */
import { type Command } from 'commander';
import { resolveAdapterArg } from '../api/adapter-arg.js';
import { oneOf, UsageError } from './options.js';
import { named, withEngine } from './workspace-arg.js';

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
      const adapterPath = await named(resolveAdapterArg(arg));
      await withEngine({}, async (engine) => {
        const model = await named(engine.adapters.baseModelOf(adapterPath, opts.model));
        const result = await engine.adapters.exportPeft({ adapter: adapterPath, out: opts.out, model, baseModel: opts.base });
        print(Boolean(opts.json), result, () => [
          `PEFT adapter for ${result.baseModel} (${result.targetModules.join(', ')}):`,
          ...result.files.map((f) => `  ${f}`),
          `Serve it with vLLM: vllm serve ${result.baseModel} --enable-lora --lora-modules doctune=${result.dir}`,
        ].join('\n'));
      });
    });

  adapter
    .command('import')
    .description('read a PEFT LoRA adapter (trained elsewhere) into a DocTune adapter for chat, eval and serve')
    .argument('<dir>', 'the PEFT adapter folder (adapter_config.json + adapter_model.safetensors)')
    .requiredOption('-m, --model <model>', 'the base model: a GGUF path, hf: URI or Ollama model name (converted from the Hugging Face model the adapter was trained on)')
    .requiredOption('--out <file>', 'the adapter .gguf to write')
    .option('--json', 'print the result as JSON')
    .action(async (dir: string, opts: { model: string; out: string; json?: boolean }) => {
      if (!opts.out.toLowerCase().endsWith('.gguf')) throw new UsageError(`--out must name a .gguf file (${opts.out})`);
      await withEngine({}, async (engine) => {
        const { model, ...result } = await engine.adapters.importPeft({ dir, model: opts.model, out: opts.out });
        print(Boolean(opts.json), result, () => `Imported ${result.pairs} LoRA pairs (rank ${result.rank}, alpha ${result.alpha}) into ${result.path}\nChat with it: doctune chat --model ${model} --adapter ${result.path}`);
      });
    });
}

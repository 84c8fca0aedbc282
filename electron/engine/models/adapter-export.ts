/**
 * What a user needs to take an adapter elsewhere, written next to it: an Ollama Modelfile (FROM the base
 * GGUF, ADAPTER the adapter) and a short how-to for llama.cpp, LM Studio, Ollama and any OpenAI client.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { metaString, readGguf } from './gguf/gguf-reader.js';

export interface AdapterExport {
  modelfile: string;
  howto: string;
}

/**
 * The Ollama model name for a run: doctune-<run folder>-<yyyymmdd-hhmm>, in what Ollama takes ([a-z0-9._-],
 * lowercase). A pipeline's run folder is <out>/run, so there the output folder names it.
 */
export function ollamaModelName(runDir: string, at = new Date()): string {
  const abs = path.resolve(runDir);
  const folder = path.basename(abs) === 'run' ? path.basename(path.dirname(abs)) : path.basename(abs);
  // A folder named after its time (the app's runs/pipeline-<ISO time>) needs no second time in the name.
  const slug = folder.toLowerCase().replace(/\d{4}-\d{2}-\d{2}t\d{2}-\d{2}[\d-]*z?/g, '').replace(/[^a-z0-9._-]+/g, '-').replace(/-{2,}/g, '-').replace(/^[-._]+|[-._]+$/g, '').slice(0, 40).replace(/[-._]+$/, '');
  const pad = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${at.getFullYear()}${pad(at.getMonth() + 1)}${pad(at.getDate())}-${pad(at.getHours())}${pad(at.getMinutes())}`;
  return ['doctune', slug, stamp].filter(Boolean).join('-');
}

export async function writeAdapterExports(adapterPath: string, basePath: string, scale = 1, at = new Date()): Promise<AdapterExport> {
  const dir = path.dirname(path.resolve(adapterPath));
  const base = path.resolve(basePath);
  const adapter = path.resolve(adapterPath);
  const name = ollamaModelName(dir, at);
  const modelfile = path.join(dir, 'Modelfile');
  const howto = path.join(dir, 'HOWTO.md');
  // Hybrid reasoning models (Qwen3) are trained in their non-thinking mode, as DocTune chats with them: the
  // adapter answers directly when asked to (llama.cpp's --reasoning off, Ollama's --think=false).
  const thinking = (metaString(await readGguf(base), 'tokenizer.chat_template') ?? '').includes('enable_thinking');
  const rea = thinking ? ' --reasoning off' : '';
  const think = thinking ? ' --think=false' : '';
  await fs.writeFile(modelfile, `# Ollama: ollama create ${name} -f Modelfile && ollama run ${name}${think}\nFROM ${base}\nADAPTER ${adapter}\n`);
  await fs.writeFile(howto, [
    `# Using ${path.basename(adapter)}`,
    '',
    `A LoRA adapter in llama.cpp's GGUF format for the base model \`${base}\`.`,
    'It must be used with that exact base model (same architecture and tensor shapes).',
    '',
    '## llama.cpp',
    '```sh',
    `llama-cli -m "${base}" --lora "${adapter}"${scale !== 1 ? ` --lora-scaled "${adapter}" ${scale}` : ''} -cnv${rea}`,
    `llama-server -m "${base}" --lora "${adapter}" --port 8080${rea}`,
    '```',
    '',
    ...(thinking ? ['The adapter was trained in the model\'s non-thinking mode: ask for direct answers (`--reasoning off`; in', 'Ollama `--think=false`; elsewhere the chat template\'s `enable_thinking: false`).', ''] : []),
    '## Ollama',
    '```sh',
    `ollama create ${name} -f "${modelfile}"`,
    `ollama run ${name}${think}`,
    '```',
    '',
    '## LM Studio',
    `Load the base model, then add the adapter file in the model's load settings (LoRA adapters), or serve`,
    'it with llama.cpp as above and connect LM Studio or any client to that server.',
    '',
    '## Any OpenAI client, through DocTune',
    '```sh',
    `npx doctune serve --model "${base}" --adapter "${adapter}" --port 8080`,
    '# then use http://127.0.0.1:8080/v1 as the base URL',
    '```',
    '',
  ].join('\n'));
  return { modelfile, howto };
}

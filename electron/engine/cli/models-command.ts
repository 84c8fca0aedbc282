import path from 'node:path';
import { type Command } from 'commander';
import { discoverLmStudio, discoverOllama } from '../models/discover.js';
import { resolveModelArg } from '../models/model-arg.js';

export function addModelsCommand(program: Command): void {
  const models = program.command('models').description('GGUF models: the ones Ollama and LM Studio already have, and downloads');
  models.command('list')
    .description('models found in Ollama\'s store and LM Studio\'s folder (used in place, not copied)')
    .option('--json', 'print as JSON')
    .action(async (o: { json?: boolean }) => {
      const found = [...(await discoverOllama()), ...(await discoverLmStudio())];
      if (o.json) return void process.stdout.write(`${JSON.stringify(found)}\n`);
      if (!found.length) process.stdout.write('no Ollama or LM Studio models found\n');
      for (const m of found) process.stdout.write(`${m.source.padEnd(9)} ${m.name}  ${(m.bytes / 2 ** 30).toFixed(2)} GiB  ${m.architecture ?? '?'}  ${m.path}\n`);
    });
  models.command('pull')
    .description('download a model (hf:OWNER/REPO/FILE.gguf or a URL) into DocTune\'s models folder; rerun to resume')
    .argument('<uri>')
    .action(async (uri: string) => {
      let shown = -1;
      const file = await resolveModelArg(uri, (received, total) => {
        const pct = total ? Math.floor((100 * received) / total) : -1;
        if (pct !== shown) process.stderr.write(`\r${pct >= 0 ? `${pct}%` : `${received} bytes`}`);
        shown = pct;
      });
      process.stderr.write('\n');
      process.stdout.write(`${path.resolve(file)}\n`);
    });
}

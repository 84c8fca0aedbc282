import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import type { CatalogModel, LocalModel } from '../../shared/contract.js';
import { withEngine } from './workspace-arg.js';

const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(1)} GiB`;
const where = (p: CatalogModel['chat']): string => (p.runsOn === 'none' ? `no   (needs ${gib(p.needed)})` : `${p.runsOn.toUpperCase()}  ${gib(p.needed)}`);

const language = (v: string): 'en' | 'zh' => {
  if (v !== 'en' && v !== 'zh') throw new InvalidArgumentError('expected en or zh');
  return v;
};

/** One row per model (its path on the line below): whether DocTune can train it, and why not. */
function localTable(found: LocalModel[]): string {
  const rows = found.map((m) => [m.source, m.name, `${(m.bytes / 2 ** 30).toFixed(2)} GiB`, m.architecture ?? '?', m.trainable ? 'yes' : `no: ${m.trainableReason ?? '?'}`]);
  const header = ['source', 'name', 'size', 'architecture', 'trainable'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 2 ? c.padStart(widths[i]!) : i < cells.length - 1 ? c.padEnd(widths[i]!) : c)).join('  ');
  const indent = ' '.repeat(widths[0]! + 2);
  return [line(header), ...rows.flatMap((r, i) => [line(r), `${indent}${found[i]!.path}`])].join('\n') + '\n';
}

export function addModelsCommand(program: Command): void {
  const models = program.command('models').description('GGUF models: the ones Ollama and LM Studio already have, and downloads');
  models.command('list')
    .description('models in DocTune\'s models folder, Ollama\'s store and LM Studio\'s folder (used in place, not copied), and whether each can be trained')
    .option('--json', 'print as JSON')
    .action(async (o: { json?: boolean }) => {
      const found = await withEngine({}, (engine) => engine.models.local());
      if (o.json) return void process.stdout.write(`${JSON.stringify(found)}\n`);
      process.stdout.write(found.length ? localTable(found) : 'no downloaded, Ollama or LM Studio models found\n');
    });
  models.command('pull')
    .description('download a model (hf:OWNER/REPO/FILE.gguf or a URL) into DocTune\'s models folder; rerun to resume')
    .argument('<uri>')
    .action(async (uri: string) => {
      let shown = -1;
      const file = await withEngine({}, (engine) => engine.models.fetch(uri, (received, total) => {
        const pct = total ? Math.floor((100 * received) / total) : -1;
        if (pct !== shown) process.stderr.write(`\r${pct >= 0 ? `${pct}%` : `${received} bytes`}`);
        shown = pct;
      }));
      process.stderr.write('\n');
      process.stdout.write(`${path.resolve(file)}\n`);
    });
  models.command('recommend')
    .description('the curated models, whether chat and training fit on this machine\'s GPUs or RAM, and the one to start with')
    .option('--json', 'print as JSON')
    .option('--language <lang>', 'the documents\' language (en or zh); default: models that handle both come first', language)
    .action(async (o: { json?: boolean; language?: 'en' | 'zh' }) => {
      const { hardware, overview } = await withEngine({}, async (engine) => ({
        hardware: await engine.models.hardware(),
        overview: await engine.invoke('models.overview', o.language ? { language: o.language } : {}),
      }));
      const { local: _local, modelsDir: _dir, ...rec } = overview;
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ hardware, ...rec })}\n`);
        return;
      }
      for (const d of hardware.devices) process.stdout.write(`${d.backend.padEnd(7)} ${d.name.padEnd(10)} ${d.description}  ${gib(d.memoryFree)} free of ${gib(d.memoryTotal)}\n`);
      process.stdout.write(`RAM     ${gib(hardware.ramBytes)} (${gib(hardware.ramFreeBytes)} free)\n`);
      if (hardware.notes) process.stdout.write(`notes: ${hardware.notes}\n`);
      process.stdout.write(`\n  ${'model'.padEnd(30)} ${'size'.padStart(8)}  ${'licence'.padEnd(27)} ${'chat'.padEnd(15)} train\n`);
      const models = rec.catalog;
      for (const m of models) {
        const mark = m.id === rec.recommended ? '*' : ' ';
        const batch = m.training.runsOn !== 'none' ? `, batch ${m.training.batch}` : '';
        process.stdout.write(`${mark} ${m.id.padEnd(30)} ${gib(m.bytes).padStart(8)}  ${m.licence.padEnd(27)} ${where(m.chat).padEnd(15)} ${where(m.training)}${batch}\n`);
      }
      const terms = new Map(models.filter((m) => m.terms).map((m) => [m.licence, m.terms!]));
      for (const [licence, url] of terms) process.stdout.write(`\n${licence}: ${url}`);
      if (terms.size) process.stdout.write('\n');
      const pick = models.find((m) => m.id === rec.recommended);
      process.stdout.write(`\n${pick ? `recommended: ${pick.id}\n  ${pick.uri}\n  ${rec.reason}` : rec.reason}\n`);
    });
}

import path from 'node:path';
import { type Command } from 'commander';
import { resolveModelArg } from '../models/model-arg.js';
import { int, UsageError } from './options.js';
import { ChatHost } from '../chat/chat-host.js';
import { withPassages } from '../chat/rag-prompt.js';
import { openTeacher, teacherSource } from '../dataset/generate.js';
import { REPORT_TEXT } from '../eval/report-text.js';
import { runEval, type VariantScores } from '../eval/run-eval.js';
import { teacherChoiceOf } from './teacher-spec.js';
import { searchWorkspace } from '../store/search.js';
import { Workspace } from '../store/workspace.js';


export function addChatCommands(program: Command): void {
  program
    .command('chat')
    .description('ask the model (with an adapter) one question, formatted with its chat template')
    .requiredOption('-m, --model <model>', 'base model: a GGUF path, hf: URI or Ollama model name')
    .option('-a, --adapter <gguf>', 'LoRA adapter')
    .option('--scale <x>', 'adapter scale', Number, 1)
    .requiredOption('-p, --prompt <text>', 'the question')
    .option('--compare', 'answer with the base model and the adapted model, side by side')
    .option('--rag', 'retrieve passages from the workspace into the prompt, and cite them')
    .option('-w, --workspace <dir>', 'workspace to retrieve from (with --rag)')
    .option('--greedy', 'deterministic (greedy) decoding')
    .option('--temperature <x>', 'sampling temperature', Number, 0.7)
    .option('--top-p <x>', 'nucleus sampling', Number, 0.9)
    .option('--max-tokens <n>', 'longest answer', int, 256)
    .option('--threads <n>', 'CPU threads (default: the physical cores free when the model loads)', int)
    .option('--json', 'print {"answer", "base_answer"?, "citations"?} as JSON')
    .action(async (o: {
      model: string; adapter?: string; scale: number; prompt: string; compare?: boolean; rag?: boolean; workspace?: string; greedy?: boolean;
      temperature: number; topP: number; maxTokens: number; threads?: number; json?: boolean;
    }) => {
      if (o.compare && !o.adapter) throw new UsageError('--compare needs an --adapter to compare with the base model');
      if (o.rag && !o.workspace) throw new UsageError('--rag needs a --workspace to retrieve from');
      const modelPath = await resolveModelArg(o.model);
      let hits: Awaited<ReturnType<typeof searchWorkspace>> = [];
      if (o.rag) {
        const ws = await Workspace.open(o.workspace!);
        try {
          hits = await searchWorkspace(ws, o.prompt, 3, null);
        } finally {
          ws.close();
        }
      }
      let citations: { n: number; title: string; page: number | null; heading: string[]; chunkId: string }[] = [];
      const sampling = { maxTokens: o.maxTokens, ...(o.greedy ? { temperature: 0 } : { temperature: o.temperature, topP: o.topP }) };
      const ask = async (adapterPath?: string): Promise<string> => {
        const host = await ChatHost.open({ modelPath, ...(adapterPath ? { adapterPath: path.resolve(adapterPath) } : {}), scale: o.scale, ...(o.threads ? { threads: Math.max(1, o.threads) } : {}), parallel: 1 });
        try {
          // The passages that fit the model's context beside the question and the answer, and only those cited.
          const { messages, used } = await withPassages(host, [{ role: 'user', content: o.prompt }], hits, o.maxTokens);
          citations = used.map((h, i) => ({ n: i + 1, title: h.title, page: h.page, heading: h.heading, chunkId: h.chunkId }));
          return (await host.generate(messages, sampling)).text;
        } finally {
          await host.close();
        }
      };
      const answer = await ask(o.adapter);
      const base = o.compare ? await ask() : undefined;
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ answer, ...(base !== undefined ? { base_answer: base } : {}), ...(o.rag ? { citations } : {}) })}\n`);
        return;
      }
      if (base !== undefined) process.stdout.write(`base:\n${base}\n\nadapted:\n${answer}\n`);
      else process.stdout.write(`${answer}\n`);
      for (const c of citations) process.stdout.write(`[${c.n}] ${c.title}${c.page ? `, p. ${c.page}` : ''}${c.heading.length ? ` — ${c.heading.join(' › ')}` : ''}\n`);
    });

  program
    .command('eval')
    .description("score base and adapted answers on the run's held-out QA pairs (token F1, exact match), with an HTML report")
    .requiredOption('-m, --model <model>', 'base model: a GGUF path, hf: URI or Ollama model name')
    .requiredOption('-a, --adapter <gguf>', 'the adapter (its run.json says which pairs were held out)')
    .option('-w, --workspace <dir>', 'workspace (for --rag, and where the report goes)')
    .option('--rag', 'also answer with retrieved passages (base + RAG, adapted + RAG)')
    .option('--run <file>', 'run record (default: run.json next to the adapter)')
    .option('--judge <teacher>', 'also grade each answer 1–5 against the reference with a model: local:PATH.gguf | openai:BASE_URL#MODEL')
    .option('--api-key-env <var>', "for an API judge: environment variable holding the key (else the OS keychain's key for the URL)")
    .option('--max <n>', 'most questions', int, 200)
    .option('--threads <n>', 'CPU threads (default: the physical cores free when the model loads)', int)
    .option('--json', 'print the scores as JSON')
    .action(async (o: { model: string; adapter: string; workspace?: string; rag?: boolean; run?: string; judge?: string; apiKeyEnv?: string; max: number; threads?: number; json?: boolean }) => {
      const judgeChoice = o.judge ? teacherChoiceOf(o.judge, { concurrency: 1, threads: o.threads, apiKeyEnv: o.apiKeyEnv }) : null;
      if (judgeChoice === 'extractive') throw new UsageError('the extractive teacher cannot grade answers: --judge takes local:PATH.gguf or openai:BASE_URL#MODEL');
      const ws = o.workspace ? await Workspace.open(o.workspace) : null;
      const judge = judgeChoice ? await openTeacher(judgeChoice) : null;
      try {
        const r = await runEval({
          modelPath: await resolveModelArg(o.model), adapterPath: path.resolve(o.adapter), workspace: ws, rag: Boolean(o.rag), maxQuestions: o.max,
          ...(o.threads ? { threads: Math.max(1, o.threads) } : {}), ...(o.run ? { runPath: path.resolve(o.run) } : {}),
          ...(judge && judgeChoice ? { judge: { teacher: judge, name: teacherSource(judgeChoice).teacher ?? judge.kind } } : {}),
          onProgress: (done, total) => {
            if (!o.json) process.stderr.write(`[${done}/${total}]\n`);
          },
        });
        const { items: _items, failures, ...scores } = r;
        for (const f of failures) process.stderr.write(`not answered or graded: ${f}\n`);
        if (o.json) process.stdout.write(`${JSON.stringify(scores)}\n`);
        else {
          const line = (name: string, s: VariantScores): string =>
            `${name.padEnd(14)} F1 ${(100 * s.f1).toFixed(1)}%  EM ${(100 * s.em).toFixed(1)}%${s.judge !== null ? `  judge ${(100 * s.judge).toFixed(1)}%` : ''}\n`;
          // Said before the scores: a score on a handful of questions is read as a measure otherwise.
          const caveats = [r.warning ? `warning: ${r.warning}` : '', r.examples ? REPORT_TEXT.en.examples(r.examples, r.n) : ''].filter(Boolean).map((c) => `${c}\n`).join('');
          process.stdout.write(`${r.n} held-out questions\n${caveats}${line('base', r.base)}${line('adapted', r.adapted)}${o.rag ? line('base + RAG', r.base_rag) + line('adapted + RAG', r.adapted_rag) : ''}report: ${r.report}\n`);
        }
      } finally {
        await judge?.dispose();
        ws?.close();
      }
    });
}

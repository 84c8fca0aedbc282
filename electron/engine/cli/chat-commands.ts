import path from 'node:path';
import { type Command } from 'commander';
import { resolveModelArg } from '../models/model-arg.js';
import { int, optionalWorkspaceOption, UsageError } from './options.js';
import { ChatHost } from '../chat/chat-host.js';
import { withPassages } from '../chat/rag-prompt.js';
import { openTeacher, teacherSource } from '../dataset/generate.js';
import { REPORT_TEXT } from '../eval/report-text.js';
import { runEval } from '../eval/run-eval.js';
import type { VariantScores } from '../eval/variants.js';
import { teacherChoiceOf } from './teacher-spec.js';
import { openWorkspaceEmbedder, retrievePassages } from '../chat/retrieve.js';
import { resolveAdapterArg } from './adapter-arg.js';
import { chatRepl, type ReplAnswerer } from './chat-repl.js';
import { openExistingWorkspace, requireWorkspace } from './workspace-arg.js';


interface ChatOptions {
  model: string; adapter?: string; scale: number; prompt?: string; interactive?: boolean; compare?: boolean; rag?: boolean; workspace?: string; greedy?: boolean;
  temperature: number; topP: number; maxTokens: number; threads?: number; json?: boolean;
}

type Hit = Awaited<ReturnType<typeof retrievePassages>>[number];

const citationLine = (c: { n: number; title: string; page: number | null; heading: string[] }): string =>
  `[${c.n}] ${c.title}${c.page ? `, p. ${c.page}` : ''}${c.heading.length ? ` — ${c.heading.join(' › ')}` : ''}\n`;

/** A conversation at the prompt: the models stay loaded, and each question is answered with the ones before. */
async function chatInteractively(o: ChatOptions, modelPath: string, adapterPath: string | undefined): Promise<void> {
  const ws = o.rag ? await openExistingWorkspace(o.workspace!) : null;
  const embedder = ws ? await openWorkspaceEmbedder(ws, o.threads) : null;
  const open = (adapter?: string): Promise<ChatHost> =>
    ChatHost.open({ modelPath, ...(adapter ? { adapterPath: adapter } : {}), scale: o.scale, ...(o.threads ? { threads: Math.max(1, o.threads) } : {}), parallel: 1 });
  const hosts: [label: string | null, host: ChatHost][] = [];
  try {
    if (o.compare) hosts.push(['base', await open()]);
    hosts.push([o.compare ? 'adapted' : null, await open(adapterPath)]);
    const sampling = { maxTokens: o.maxTokens, ...(o.greedy ? { temperature: 0 } : { temperature: o.temperature, topP: o.topP }) };
    const answer: ReplAnswerer = async (messages, onToken, signal) => {
      const hits: Hit[] = ws ? await retrievePassages(ws, messages.at(-1)!.content, embedder) : [];
      let text = '';
      let cited: Hit[] = [];
      for (const [label, host] of hosts) {
        if (signal.aborted) break;
        if (label) onToken(`${label}:\n`);
        const { messages: prompt, used } = await withPassages(host, messages, hits, o.maxTokens);
        text = (await host.generate(prompt, { ...sampling, onToken, signal })).text;
        if (label) onToken('\n');
        cited = used;
      }
      return { text, after: cited.map((h, i) => citationLine({ n: i + 1, ...h })).join('') };
    };
    const input = process.stdin;
    await chatRepl({
      input, output: process.stdout, terminal: Boolean(input.isTTY), answer,
      ...(input.isTTY ? { greeting: `chatting with ${path.basename(modelPath)}${adapterPath ? ` + ${path.basename(adapterPath)}` : ''}: /exit or Ctrl-D leaves, /reset starts over, Ctrl-C stops an answer` } : {}),
    });
  } finally {
    for (const [, host] of hosts) await host.close();
    await embedder?.dispose();
    ws?.close();
  }
}

export function addChatCommands(program: Command): void {
  program
    .command('chat')
    .description('ask the model (with an adapter) a question, formatted with its chat template; with no question at a terminal (or --interactive), a conversation')
    .argument('[question]', 'the question (or --prompt)')
    .requiredOption('-m, --model <model>', 'base model: a GGUF path, hf: URI or Ollama model name')
    .option('-a, --adapter <path>', "LoRA adapter: a .gguf file, or a training run's folder")
    .option('--scale <x>', 'adapter scale', Number, 1)
    .option('-p, --prompt <text>', 'the question')
    .option('-i, --interactive', 'a conversation: questions from the prompt (or standard input), each answered with the ones before')
    .option('--compare', 'answer with the base model and the adapted model, side by side')
    .option('--rag', 'retrieve passages from the workspace into the prompt, and cite them')
    .addOption(optionalWorkspaceOption('workspace to retrieve from (with --rag)'))
    .option('--greedy', 'deterministic (greedy) decoding')
    .option('--temperature <x>', 'sampling temperature', Number, 0.7)
    .option('--top-p <x>', 'nucleus sampling', Number, 0.9)
    .option('--max-tokens <n>', 'longest answer', int, 256)
    .option('--threads <n>', 'CPU threads (default: the physical cores free when the model loads)', int)
    .option('--json', 'print {"answer", "base_answer"?, "citations"?} as JSON')
    .action(async (question: string | undefined, o: ChatOptions) => {
      const prompt = o.prompt ?? question;
      const interactive = Boolean(o.interactive) || (!prompt && Boolean(process.stdin.isTTY));
      if (!prompt && !interactive) throw new UsageError('give a question (doctune chat --model M "question", or --prompt), or --interactive for a conversation');
      if (interactive && o.json) throw new UsageError('--json prints one answer: give the question, without --interactive');
      if (o.compare && !o.adapter) throw new UsageError('--compare needs an --adapter to compare with the base model');
      if (o.rag && !o.workspace) throw new UsageError('--rag needs a --workspace to retrieve from');
      const adapterPath = o.adapter ? await resolveAdapterArg(o.adapter) : undefined;
      if (o.rag) await requireWorkspace(o.workspace!);
      const modelPath = await resolveModelArg(o.model);
      if (interactive) return chatInteractively(o, modelPath, adapterPath);
      let hits: Hit[] = [];
      if (o.rag) {
        const ws = await openExistingWorkspace(o.workspace!);
        const embedder = await openWorkspaceEmbedder(ws, o.threads).catch((err: unknown) => {
          ws.close();
          throw err;
        });
        try {
          hits = await retrievePassages(ws, prompt!, embedder);
        } finally {
          await embedder?.dispose();
          ws.close();
        }
      }
      let citations: { n: number; title: string; page: number | null; heading: string[]; chunkId: string }[] = [];
      const sampling = { maxTokens: o.maxTokens, ...(o.greedy ? { temperature: 0 } : { temperature: o.temperature, topP: o.topP }) };
      const ask = async (adapter?: string): Promise<string> => {
        const host = await ChatHost.open({ modelPath, ...(adapter ? { adapterPath: adapter } : {}), scale: o.scale, ...(o.threads ? { threads: Math.max(1, o.threads) } : {}), parallel: 1 });
        try {
          // The passages that fit the model's context beside the question and the answer, and only those cited.
          const { messages, used } = await withPassages(host, [{ role: 'user', content: prompt! }], hits, o.maxTokens);
          citations = used.map((h, i) => ({ n: i + 1, title: h.title, page: h.page, heading: h.heading, chunkId: h.chunkId }));
          return (await host.generate(messages, sampling)).text;
        } finally {
          await host.close();
        }
      };
      const answer = await ask(adapterPath);
      const base = o.compare ? await ask() : undefined;
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ answer, ...(base !== undefined ? { base_answer: base } : {}), ...(o.rag ? { citations } : {}) })}\n`);
        return;
      }
      if (base !== undefined) process.stdout.write(`base:\n${base}\n\nadapted:\n${answer}\n`);
      else process.stdout.write(`${answer}\n`);
      for (const c of citations) process.stdout.write(citationLine(c));
    });

  program
    .command('eval')
    .description("score base and adapted answers on the run's held-out QA pairs (token F1, exact match), with an HTML report")
    .requiredOption('-m, --model <model>', 'base model: a GGUF path, hf: URI or Ollama model name')
    .requiredOption('-a, --adapter <path>', "the adapter, or its training run's folder (its run.json says which pairs were held out)")
    .addOption(optionalWorkspaceOption('workspace (for --rag, and where the report goes)'))
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
      const adapterPath = await resolveAdapterArg(o.adapter);
      const ws = o.workspace ? await openExistingWorkspace(o.workspace) : null;
      const judge = judgeChoice ? await openTeacher(judgeChoice) : null;
      try {
        const r = await runEval({
          modelPath: await resolveModelArg(o.model), adapterPath, workspace: ws, rag: Boolean(o.rag), maxQuestions: o.max,
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

import path from 'node:path';
import { type Command } from 'commander';
import { resolveAdapterArg } from '../api/adapter-arg.js';
import { REPORT_TEXT, type AskModels, type Cited, type VariantScores } from '../api/ask-door.js';
import { teacherChoiceOf } from '../api/teacher-spec.js';
import { int, optionalWorkspaceOption, UsageError } from './options.js';
import { chatRepl, type ReplAnswerer } from './chat-repl.js';
import { named, withEngine } from './workspace-arg.js';

interface ChatOptions {
  model: string; adapter?: string; scale: number; prompt?: string; interactive?: boolean; compare?: boolean; rag?: boolean; workspace?: string; greedy?: boolean;
  temperature: number; topP: number; maxTokens: number; threads?: number; json?: boolean;
}

const citationLine = (c: Cited): string =>
  `[${c.n}] ${c.title}${c.page ? `, p. ${c.page}` : ''}${c.heading.length ? ` — ${c.heading.join(' › ')}` : ''}\n`;

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
      const adapter = o.adapter ? await named(resolveAdapterArg(o.adapter)) : undefined;
      const models: AskModels = {
        model: o.model, adapter, scale: o.scale, compare: Boolean(o.compare), rag: Boolean(o.rag), maxTokens: o.maxTokens,
        temperature: o.greedy ? 0 : o.temperature, topP: o.topP,
      };
      // Only --rag reads the workspace.
      await withEngine({ workspace: o.rag ? o.workspace : undefined, threads: o.threads }, async (engine) => {
        if (interactive) {
          const talk = await engine.ask.converse(models);
          try {
            const answer: ReplAnswerer = async (messages, onToken, signal) => {
              // Each side's answer under its label when the base model answers too.
              let labelled = false;
              const { answers, citations } = await talk.answer(messages, {
                signal,
                onSide: (side) => {
                  if (side) onToken(`${labelled ? '\n' : ''}${side}:\n`);
                  labelled = Boolean(side);
                },
                onToken: (_side, text) => onToken(text),
              });
              if (labelled) onToken('\n');
              return { text: answers.at(-1)?.text ?? '', after: citations.map(citationLine).join('') };
            };
            const input = process.stdin;
            await chatRepl({
              input, output: process.stdout, terminal: Boolean(input.isTTY), answer,
              ...(input.isTTY ? { greeting: `chatting with ${path.basename(o.model)}${adapter ? ` + ${path.basename(adapter)}` : ''}: /exit or Ctrl-D leaves, /reset starts over, Ctrl-C stops an answer` } : {}),
            });
          } finally {
            await talk.close();
          }
          return;
        }
        const { answers, citations } = await engine.ask.ask(models, prompt!);
        const adapted = answers.at(-1)!.text;
        const base = o.compare ? answers[0]!.text : undefined;
        if (o.json) {
          process.stdout.write(`${JSON.stringify({ answer: adapted, ...(base !== undefined ? { base_answer: base } : {}), ...(o.rag ? { citations } : {}) })}\n`);
          return;
        }
        if (base !== undefined) process.stdout.write(`base:\n${base}\n\nadapted:\n${adapted}\n`);
        else process.stdout.write(`${adapted}\n`);
        for (const c of citations) process.stdout.write(citationLine(c));
      });
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
      const judge = o.judge ? await named(() => teacherChoiceOf(o.judge!, { concurrency: 1, threads: o.threads, apiKeyEnv: o.apiKeyEnv })) : null;
      if (judge === 'extractive') throw new UsageError('the extractive teacher cannot grade answers: --judge takes local:PATH.gguf or openai:BASE_URL#MODEL');
      if (o.rag && !o.workspace) throw new UsageError('--rag needs a --workspace to retrieve from');
      const adapter = await named(resolveAdapterArg(o.adapter));
      await withEngine({ workspace: o.workspace, threads: o.threads }, async (engine) => {
        const r = await engine.ask.evaluate({
          model: o.model, adapter, useWorkspace: Boolean(o.workspace), rag: Boolean(o.rag), maxQuestions: o.max, judge,
          runPath: o.run ? path.resolve(o.run) : undefined,
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
      });
    });
}

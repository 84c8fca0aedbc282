/**
 * Chat speed: tokens/s and time to first token through DocTune (the supervised chat worker, and the OpenAI
 * server on top of it) against raw node-llama-cpp in this process, with the same model, adapter, threads,
 * context size and greedy sampling, in one run. Goal: ≥ 0.95× raw tokens/s.
 * Usage: npm run bench:chat [-- --model model.gguf --threads 4 --tokens 200]
 */
import path from 'node:path';
import { getLlama, LlamaChat, LlamaLogLevel, resolveChatWrapper } from 'node-llama-cpp';
import { ChatHost } from '../electron/engine/chat/chat-host.js';
import { readGguf } from '../electron/engine/models/gguf/gguf-reader.js';
import { targetShape, writeLoraAdapter } from '../electron/engine/models/lora-adapter.js';
import { startOpenAiServer } from '../electron/engine/chat/openai-server.js';
import { tempDir, TINY_MODEL } from '../electron/engine/testing/corpus.js';
import { randomF32, rng } from '../electron/engine/testing/random-model.js';
import { chatHistoryOf } from '../electron/engine/train/sft-data.js';

const arg = (name: string, d: string): string => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : d;
};
const MODEL = path.resolve(arg('--model', TINY_MODEL));
const THREADS = Number(arg('--threads', '1'));
const TOKENS = Number(arg('--tokens', '200'));
const RUNS = Number(arg('--runs', '15'));
/** Untimed rounds first, for each path alike (JIT and caches warm up in each process). */
const WARMUP = 3;
const CONTEXT = 1024;
const PROMPT = 'Once upon a time';

interface Sample { ttftMs: number; tokensPerS: number }
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function adapterFor(model: string): Promise<string> {
  const base = await readGguf(model);
  const next = rng(1);
  const rank = 8;
  const pairs = base.tensors.filter((t) => /^blk\.\d+\.(attn_q|attn_v)\.weight$/.test(t.name)).map((t) => {
    const { nIn, nOut } = targetShape(base, t.name);
    return { target: t.name, a: randomF32(nIn * rank, 0.01, next), b: randomF32(rank * nOut, 0.01, next) };
  });
  const file = path.join(tempDir('bench-chat'), 'adapter.gguf');
  await writeLoraAdapter(file, base, { rank, alpha: 16, pairs });
  return file;
}

/** One timed answer through raw node-llama-cpp in this process. */
async function rawPath(adapter: string): Promise<{ run(): Promise<Sample>; dispose(): Promise<void> }> {
  const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, logger: () => undefined });
  const model = await llama.loadModel({ modelPath: MODEL, gpuLayers: 0 });
  const context = await model.createContext({ threads: THREADS, contextSize: Math.min(CONTEXT, model.trainContextSize), lora: { adapters: [{ filePath: adapter, scale: 1 }] } });
  const chat = new LlamaChat({ contextSequence: context.getSequence(), chatWrapper: resolveChatWrapper(model) });
  return {
    run: async () => {
      const t0 = performance.now();
      let first = 0;
      const { response } = await chat.generateResponse(chatHistoryOf([{ role: 'user', content: PROMPT }, { role: 'assistant', content: '' }]), {
        maxTokens: TOKENS, temperature: 0, onTextChunk: () => (first ||= performance.now()),
      });
      return { ttftMs: first - t0, tokensPerS: model.tokenize(response).length / ((performance.now() - t0) / 1000) };
    },
    dispose: () => llama.dispose(),
  };
}

/** One timed answer through DocTune's supervised chat worker. */
async function enginePath(host: ChatHost): Promise<Sample> {
  const t0 = performance.now();
  let first = 0;
  const g = await host.generate([{ role: 'user', content: PROMPT }], { maxTokens: TOKENS, temperature: 0, onToken: () => (first ||= performance.now()) });
  return { ttftMs: first - t0, tokensPerS: g.completionTokens / ((performance.now() - t0) / 1000) };
}

/** One timed answer streamed from DocTune's OpenAI-compatible server (the client in this process too). */
async function serverPath(url: string): Promise<Sample> {
  const t0 = performance.now();
  let first = 0;
  let text = '';
  const res = await fetch(`${url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: PROMPT }], max_tokens: TOKENS, temperature: 0, stream: true }) });
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    for (const line of decoder.decode(chunk, { stream: true }).split('\n')) {
      if (!line.startsWith('data: {')) continue;
      const delta = (JSON.parse(line.slice(6)) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content;
      if (delta) {
        first ||= performance.now();
        text += delta;
      }
    }
  }
  const s = (performance.now() - t0) / 1000;
  return { ttftMs: first - t0, tokensPerS: text.length ? (await tokenCount(text)) / s : 0 };
}

let counter: ((t: string) => number) | null = null;
async function tokenCount(text: string): Promise<number> {
  if (!counter) {
    const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, logger: () => undefined });
    const model = await llama.loadModel({ modelPath: MODEL, vocabOnly: true });
    counter = (t) => model.tokenize(t).length;
  }
  return counter(text);
}

const adapter = await adapterFor(MODEL);
const rawRun = await rawPath(adapter);
const host = await ChatHost.open({ modelPath: MODEL, adapterPath: adapter, threads: THREADS, parallel: 1, contextSize: CONTEXT });
const srv = await startOpenAiServer({ host, modelName: 'bench', port: 0 });
// The three paths take turns, round by round: a slower stretch of a shared machine falls on all of them
// alike instead of on whichever path ran during it.
const r: Sample[] = [];
const e: Sample[] = [];
const sv: Sample[] = [];
for (let i = 0; i < WARMUP + RUNS; i++) {
  const round = [await rawRun.run(), await enginePath(host), await serverPath(srv.url)];
  if (i < WARMUP) continue;
  r.push(round[0]!);
  e.push(round[1]!);
  sv.push(round[2]!);
}
await srv.close();
await host.close();
await rawRun.dispose();

const line = (name: string, s: Sample[]): string => `  ${name.padEnd(22)} ${median(s.map((x) => x.tokensPerS)).toFixed(0).padStart(6)} tok/s   first token ${median(s.map((x) => x.ttftMs)).toFixed(1).padStart(6)} ms`;
console.log(`Chat benchmark: ${path.basename(MODEL)} with a LoRA adapter, ${THREADS} thread(s), greedy, ${TOKENS} tokens, median of ${RUNS} interleaved rounds`);
console.log(line('raw node-llama-cpp', r));
console.log(line('DocTune engine', e));
console.log(line('DocTune OpenAI server', sv));
const ratio = (s: Sample[]): string => (median(s.map((x) => x.tokensPerS)) / median(r.map((x) => x.tokensPerS))).toFixed(2);
console.log(`  ratio tokens/s: engine ${ratio(e)}×, server ${ratio(sv)}× (goal ≥ 0.95×)`);
process.exit(0);

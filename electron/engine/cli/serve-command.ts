import path from 'node:path';
import { type Command } from 'commander';
import { resolveModelArg } from '../models/model-arg.js';
import { int, port, UsageError } from './options.js';
import { resolveAdapterArg } from './adapter-arg.js';
import { ensurePortFree, listenError } from './port.js';
import { ChatHost } from '../chat/chat-host.js';
import { isLoopbackName, SERVE_DEFAULTS, startOpenAiServer } from '../chat/openai-server.js';


export function addServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve the model (and adapter) over the OpenAI API: /v1/models and /v1/chat/completions')
    .requiredOption('-m, --model <model>', 'base model: a GGUF path, hf: URI or Ollama model name')
    .option('--adapter <path>', "LoRA adapter to apply: a .gguf file, or a training run's folder")
    .option('--scale <x>', 'adapter scale', Number, 1)
    .option('--port <n>', 'port (0: any free one)', port, 8080)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--api-key-env <var>', 'require the key in this environment variable (Authorization: Bearer …); needed beyond this machine')
    .option('--insecure-no-key', 'serve a network address without an API key: anyone who reaches the port can use the model')
    .option('--allow-origin <origin>', 'let web pages from this origin call the API (CORS); repeatable', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--name <id>', 'model name clients use (default: the adapter or model file name)')
    .option('--parallel <n>', 'requests generated at once', int, SERVE_DEFAULTS.parallel)
    .option('--queue <n>', 'requests allowed to wait; more get 429', int, SERVE_DEFAULTS.queue)
    .option('--threads <n>', 'CPU threads (default: the physical cores free when the model loads)', int)
    .option('--json', 'print {"url"} as JSON once listening')
    .action(async (o: { model: string; adapter?: string; scale: number; port: number; host: string; apiKeyEnv?: string; name?: string; parallel: number; queue: number; threads?: number; json?: boolean; insecureNoKey?: boolean; allowOrigin: string[] }) => {
      let apiKey: string | undefined;
      if (o.apiKeyEnv) {
        apiKey = process.env[o.apiKeyEnv];
        if (!apiKey) throw new UsageError(`the environment variable ${o.apiKeyEnv} (--api-key-env) is not set`);
      }
      // As the app does: a network address needs a key, unless that is asked for by name.
      if (!apiKey && !isLoopbackName(o.host)) {
        if (!o.insecureNoKey) {
          throw new UsageError(`--host ${o.host} serves other machines: give an API key with --api-key-env VAR (or, to serve everyone who can reach the port, --insecure-no-key)`);
        }
        process.stderr.write(`warning: serving ${o.host} without an API key (--insecure-no-key): anyone who can reach the port can use the model\n`);
      }
      for (const origin of o.allowOrigin) {
        if (!/^https?:\/\/[^/\s]+$/.test(origin)) throw new UsageError(`--allow-origin ${origin} is not an origin (scheme://host[:port])`);
      }
      const adapterPath = o.adapter ? await resolveAdapterArg(o.adapter) : undefined;
      // Before the model loads: a port in use is said at once.
      await ensurePortFree(o.host, o.port);
      const host = await ChatHost.open({
        modelPath: await resolveModelArg(o.model), ...(adapterPath ? { adapterPath } : {}), scale: o.scale,
        parallel: Math.max(1, o.parallel), maxQueue: o.queue, ...(o.threads ? { threads: Math.max(1, o.threads) } : {}),
      });
      const modelName = o.name ?? path.basename(adapterPath ?? o.model).replace(/\.gguf$/i, '');
      const server = await startOpenAiServer({ host, modelName, port: o.port, hostname: o.host, ...(apiKey ? { apiKey } : {}), allowOrigins: o.allowOrigin }).catch(async (err: unknown) => {
        await host.close();
        throw listenError(err, o.host, o.port);
      });
      process.stdout.write(o.json ? `${JSON.stringify({ url: server.url, model: modelName, threads: host.threads })}\n`
        : `serving ${modelName} at ${server.url} on ${host.threads} thread(s) (Ctrl-C stops)\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await server.close();
      await host.close();
    });
}

import { type Command } from 'commander';
import { resolveAdapterArg } from '../api/adapter-arg.js';
import { isOrigin, needsApiKey, SERVE_DEFAULTS } from '../api/serve-door.js';
import { int, port, UsageError } from './options.js';
import { named, withEngine } from './workspace-arg.js';

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
      if (!apiKey && needsApiKey(o.host)) {
        if (!o.insecureNoKey) {
          throw new UsageError(`--host ${o.host} serves other machines: give an API key with --api-key-env VAR (or, to serve everyone who can reach the port, --insecure-no-key)`);
        }
        process.stderr.write(`warning: serving ${o.host} without an API key (--insecure-no-key): anyone who can reach the port can use the model\n`);
      }
      for (const origin of o.allowOrigin) {
        if (!isOrigin(origin)) throw new UsageError(`--allow-origin ${origin} is not an origin (scheme://host[:port])`);
      }
      const adapter = o.adapter ? await named(resolveAdapterArg(o.adapter)) : undefined;
      await withEngine({ threads: o.threads }, async (engine) => {
        const serving = await engine.serve.open({
          model: o.model, adapter, scale: o.scale, port: o.port, host: o.host, apiKey, allowNoKey: o.insecureNoKey, allowOrigins: o.allowOrigin,
          name: o.name, parallel: o.parallel, queue: o.queue,
        });
        process.stdout.write(o.json ? `${JSON.stringify(serving)}\n` : `serving ${serving.model} at ${serving.url} on ${serving.threads} thread(s) (Ctrl-C stops)\n`);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
      });
    });
}

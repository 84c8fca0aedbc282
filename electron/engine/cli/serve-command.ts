import path from 'node:path';
import { type Command } from 'commander';
import { resolveModelArg } from '../models/model-arg.js';
import { int } from './options.js';
import { ChatHost } from '../chat/chat-host.js';
import { DocTuneError } from '../errors.js';
import { startOpenAiServer } from '../server/openai-server.js';


export function addServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve the model (and adapter) over the OpenAI API: /v1/models and /v1/chat/completions')
    .requiredOption('-m, --model <model>', 'base model: a GGUF path, hf: URI or Ollama model name')
    .option('--adapter <gguf>', 'LoRA adapter to apply')
    .option('--scale <x>', 'adapter scale', Number, 1)
    .option('--port <n>', 'port (0: any free one)', int, 8080)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--api-key-env <var>', 'require the key in this environment variable (Authorization: Bearer …)')
    .option('--name <id>', 'model name clients use (default: the adapter or model file name)')
    .option('--parallel <n>', 'requests generated at once', int, 2)
    .option('--queue <n>', 'requests allowed to wait; more get 429', int, 16)
    .option('--threads <n>', 'CPU threads', int, 4)
    .option('--json', 'print {"url"} as JSON once listening')
    .action(async (o: { model: string; adapter?: string; scale: number; port: number; host: string; apiKeyEnv?: string; name?: string; parallel: number; queue: number; threads: number; json?: boolean }) => {
      let apiKey: string | undefined;
      if (o.apiKeyEnv) {
        apiKey = process.env[o.apiKeyEnv];
        if (!apiKey) throw new DocTuneError('BAD_ARGUMENT', `the environment variable ${o.apiKeyEnv} (--api-key-env) is not set`);
      }
      const host = await ChatHost.open({
        modelPath: await resolveModelArg(o.model), ...(o.adapter ? { adapterPath: path.resolve(o.adapter) } : {}), scale: o.scale,
        parallel: Math.max(1, o.parallel), maxQueue: o.queue, threads: Math.max(1, o.threads),
      });
      const modelName = o.name ?? path.basename(o.adapter ?? o.model).replace(/\.gguf$/i, '');
      const server = await startOpenAiServer({ host, modelName, port: o.port, hostname: o.host, ...(apiKey ? { apiKey } : {}) });
      process.stdout.write(o.json ? `${JSON.stringify({ url: server.url, model: modelName })}\n` : `serving ${modelName} at ${server.url} (Ctrl-C stops)\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await server.close();
      await host.close();
    });
}

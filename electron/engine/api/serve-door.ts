/**
 * Serving from the app: the chat settings' model and adapter behind the OpenAI API (the same server as
 * `doctune serve`), started and stopped on request, with its URL shown.
 */
import path from 'node:path';
import type { ServeStatus } from '../../shared/contract.js';
import { ChatHost } from '../chat/chat-host.js';
import { DocTuneError } from '../errors.js';
import { SERVE_DEFAULTS, startOpenAiServer, type OpenAiServer } from '../chat/openai-server.js';
import type { StoredChatSettings } from '../store/workspace.js';

export class ServeDoor {
  private running: { server: OpenAiServer; host: ChatHost; model: string } | null = null;
  /** A start in progress: a second request while the model loads gets the same server, not a second one. */
  private starting: Promise<ServeStatus> | null = null;

  constructor(private readonly settings: () => Promise<StoredChatSettings>, private readonly threads: number | undefined) {}

  status(): ServeStatus {
    return this.running ? { running: true, url: this.running.server.url, model: this.running.model } : { running: false, url: null, model: null };
  }

  start(o: { port: number; host: string; apiKey?: string | undefined }): Promise<ServeStatus> {
    if (this.running) return Promise.resolve(this.status());
    this.starting ??= this.open(o).finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  private async open(o: { port: number; host: string; apiKey?: string | undefined }): Promise<ServeStatus> {
    const s = await this.settings();
    if (!s.modelPath) throw new DocTuneError('BAD_ARGUMENT', 'choose a model in the chat settings first');
    if (o.host !== '127.0.0.1' && !o.apiKey) throw new DocTuneError('BAD_ARGUMENT', 'serving beyond this machine needs an API key');
    const host = await ChatHost.open({ modelPath: s.modelPath, ...(s.adapterPath ? { adapterPath: s.adapterPath } : {}), scale: s.scale, ...(this.threads ? { threads: this.threads } : {}), parallel: SERVE_DEFAULTS.parallel, maxQueue: SERVE_DEFAULTS.queue });
    const model = path.basename(s.adapterPath || s.modelPath).replace(/\.gguf$/i, '');
    try {
      const server = await startOpenAiServer({ host, modelName: model, port: o.port, hostname: o.host, ...(o.apiKey ? { apiKey: o.apiKey } : {}) });
      this.running = { server, host, model };
    } catch (err) {
      await host.close();
      throw new DocTuneError('BAD_ARGUMENT', `cannot listen on ${o.host}:${o.port}: ${(err as Error).message}`, { cause: err });
    }
    return this.status();
  }

  async stop(): Promise<ServeStatus> {
    await this.starting?.catch(() => undefined);
    const r = this.running;
    this.running = null;
    if (r) {
      await r.server.close();
      await r.host.close();
    }
    return this.status();
  }
}

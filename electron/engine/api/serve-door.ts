/**
 * The OpenAI-compatible server: a model (and adapter) behind /v1/models and /v1/chat/completions. The app
 * serves its chat settings' model, started and stopped on request; `doctune serve` names its own. Both
 * open it here, under the same rules: a network address needs an API key unless that is waived by name.
 */
import path from 'node:path';
import type { ServeStatus } from '../../shared/contract.js';
import { ChatHost } from '../chat/chat-host.js';
import { DocTuneError } from '../errors.js';
import { isLoopbackName, SERVE_DEFAULTS, startOpenAiServer, type OpenAiServer } from '../chat/openai-server.js';
import { resolveModelArg } from '../models/model-arg.js';
import type { StoredChatSettings } from '../store/workspace.js';
import { ensurePortFree, listenError } from './port.js';

export { SERVE_DEFAULTS };

/** Whether serving this address reaches other machines, and so needs an API key (unless waived by name). */
export const needsApiKey = (host: string): boolean => !isLoopbackName(host);

/** A web page origin CORS can allow: scheme://host[:port], nothing after. */
export const isOrigin = (origin: string): boolean => /^https?:\/\/[^/\s]+$/.test(origin);

export interface ServeOptions {
  /** The base model: a GGUF path, hf: URI or Ollama model name. */
  model: string;
  adapter?: string | undefined;
  scale?: number;
  port: number;
  host: string;
  apiKey?: string | undefined;
  /** Serve a network address without a key: anyone who reaches the port can use the model. */
  allowNoKey?: boolean;
  /** Web page origins allowed to call the API (CORS). */
  allowOrigins?: string[];
  /** The model name clients use (default: the adapter's or model's file name). */
  name?: string | undefined;
  parallel?: number;
  queue?: number;
}

export interface Serving {
  url: string;
  model: string;
  threads: number;
}

export class ServeDoor {
  private running: { server: OpenAiServer; host: ChatHost; model: string } | null = null;
  /** A start in progress: a second request while the model loads gets the same server, not a second one. */
  private starting: Promise<Serving> | null = null;

  constructor(private readonly settings: () => Promise<StoredChatSettings>, private readonly threads: number | undefined) {}

  status(): ServeStatus {
    return this.running ? { running: true, url: this.running.server.url, model: this.running.model } : { running: false, url: null, model: null };
  }

  /** The app's server: the chat settings' model and adapter. */
  async start(o: { port: number; host: string; apiKey?: string | undefined }): Promise<ServeStatus> {
    if (!this.running && !this.starting) {
      const s = await this.settings();
      if (!s.modelPath) throw new DocTuneError('BAD_ARGUMENT', 'choose a model in the chat settings first');
      await this.open({ model: s.modelPath, adapter: s.adapterPath || undefined, scale: s.scale, ...o });
    } else await this.starting;
    return this.status();
  }

  /** Serve a model; the one already serving (or starting) is returned as it is. */
  open(o: ServeOptions): Promise<Serving> {
    if (this.running) return Promise.resolve(this.serving(this.running));
    this.starting ??= this.listen(o).finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  private serving(r: { server: OpenAiServer; host: ChatHost; model: string }): Serving {
    return { url: r.server.url, model: r.model, threads: r.host.threads };
  }

  private async listen(o: ServeOptions): Promise<Serving> {
    if (!o.apiKey && needsApiKey(o.host) && !o.allowNoKey) {
      throw new DocTuneError('BAD_ARGUMENT', `serving ${o.host} reaches other machines and needs an API key (or, to serve everyone who can reach the port, to be told so)`);
    }
    for (const origin of o.allowOrigins ?? []) {
      if (!isOrigin(origin)) throw new DocTuneError('BAD_ARGUMENT', `${origin} is not an origin (scheme://host[:port])`);
    }
    // Before the model loads: a port in use is said at once.
    await ensurePortFree(o.host, o.port);
    const modelPath = await resolveModelArg(o.model);
    const host = await ChatHost.open({
      modelPath, ...(o.adapter ? { adapterPath: o.adapter } : {}), scale: o.scale ?? 1, ...(this.threads ? { threads: this.threads } : {}),
      parallel: Math.max(1, o.parallel ?? SERVE_DEFAULTS.parallel), maxQueue: o.queue ?? SERVE_DEFAULTS.queue,
    });
    const model = o.name ?? path.basename(o.adapter || o.model).replace(/\.gguf$/i, '');
    try {
      const server = await startOpenAiServer({ host, modelName: model, port: o.port, hostname: o.host, ...(o.apiKey ? { apiKey: o.apiKey } : {}), allowOrigins: o.allowOrigins ?? [] });
      this.running = { server, host, model };
    } catch (err) {
      await host.close();
      throw listenError(err, o.host, o.port);
    }
    return this.serving(this.running);
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

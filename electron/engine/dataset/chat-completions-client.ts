/**
 * A client for OpenAI-compatible chat-completions APIs (OpenAI, DeepSeek, Qwen/DashScope, Ollama, vLLM,
 * llama.cpp's server): a bounded number of requests in flight, retries with exponential backoff on 429, 5xx,
 * timeouts, network errors and malformed bodies (honouring Retry-After), JSON output through response_format
 * (json_schema, else json_object, else none — the mode steps down when a server rejects it), token usage and
 * cost. Refusals that a retry cannot fix (a wrong key, an unknown model) end the run with the server's words.
 * Before the first request the server is reached once (GET /models): a server that cannot be reached at all
 * (connection refused, unknown host, TLS failure, no answer) ends the run at once, naming the URL and why.
 */
import { z } from 'zod';
import { DocTuneError } from '../errors.js';
import { extractJson } from './json-extract.js';
import type { TeacherStats } from './teacher.js';

export interface ChatCompletionsOptions {
  /** e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1 (the /chat/completions path is added). */
  baseUrl: string;
  model: string;
  apiKey?: string;
  /** Requests in flight at once. */
  concurrency?: number;
  /** Per request. */
  timeoutMs?: number;
  maxRetries?: number;
  /** First backoff delay; doubles per retry, with jitter, up to 30 s. */
  backoffMs?: number;
  /** US dollars per million tokens, for the cost line. */
  price?: { input: number; output: number };
}

type JsonMode = 'json_schema' | 'json_object' | 'none';
const MAX_BACKOFF_MS = 30_000;
const MAX_RETRY_AFTER_MS = 120_000;
/** The reachability check waits at most this long (or the request timeout, if shorter). */
const PROBE_TIMEOUT_MS = 15_000;

type NetError = NodeJS.ErrnoException & { errors?: NetError[]; hostname?: string; address?: string; port?: number };

/** Why a request did not reach the server, in words (fetch says only "fetch failed"; the cause says why). */
export function networkReason(err: unknown): string {
  const e = err as Error & { cause?: unknown };
  const cause = (e.cause ?? e) as NetError;
  // A name with several addresses (IPv4 and IPv6) fails with one error per address.
  const inner = cause.errors?.[0] ?? cause;
  const code = inner.code ?? '';
  const where = inner.address ? ` at ${inner.address}${inner.port ? `:${inner.port}` : ''}` : '';
  if (code === 'ECONNREFUSED') return `connection refused (nothing listens${where})`;
  if (code === 'ENOTFOUND') return `host not found (DNS${inner.hostname ? `: ${inner.hostname}` : ''})`;
  if (code === 'EAI_AGAIN') return `DNS lookup failed${inner.hostname ? ` for ${inner.hostname}` : ''} (EAI_AGAIN: no network or DNS server?)`;
  if (code === 'ECONNRESET') return 'the connection was reset';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `host unreachable (${code})`;
  if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return `connection timed out (${code})`;
  if (/CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) return `TLS failed: ${inner.message} (${code})`;
  if (inner.message === 'bad port') return 'the port is one that fetch refuses to connect to (a "bad port" in the Fetch standard): use another';
  const message = inner.message || e.message;
  return code && !message.includes(code) ? `${message} (${code})` : message;
}

/** What DocTune reads of an OpenAI-compatible chat completion: the first choice's text, and the token counts when given. */
const CompletionReply = z.object({
  choices: z.array(z.object({ message: z.object({ content: z.string() }) })).min(1),
  usage: z.object({ prompt_tokens: z.number().optional(), completion_tokens: z.number().optional() }).nullish(),
});

class Transient extends Error {
  constructor(message: string, readonly retryAfterMs: number | null = null) {
    super(message);
  }
}

/** Retry-After as seconds or an HTTP date (and the retry-after-ms some servers send). */
export function retryAfterMs(headers: Headers, now = Date.now()): number | null {
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.get('retry-after-ms') && Number.isFinite(ms)) return Math.min(ms, MAX_RETRY_AFTER_MS);
  const v = headers.get('retry-after');
  if (!v) return null;
  const seconds = Number(v);
  if (Number.isFinite(seconds)) return Math.min(Math.max(0, seconds * 1000), MAX_RETRY_AFTER_MS);
  const date = Date.parse(v);
  return Number.isFinite(date) ? Math.min(Math.max(0, date - now), MAX_RETRY_AFTER_MS) : null;
}

export class ChatCompletionsClient {
  readonly stats: Required<Pick<TeacherStats, 'outputs' | 'unparsable' | 'requests' | 'retries' | 'promptTokens' | 'completionTokens'>> & { cost?: number } =
    { outputs: 0, unparsable: 0, requests: 0, retries: 0, promptTokens: 0, completionTokens: 0 };
  private mode: JsonMode = 'json_schema';
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly base: string;
  private readonly url: string;
  private reached: Promise<void> | null = null;

  constructor(private readonly options: ChatCompletionsOptions) {
    this.base = options.baseUrl.replace(/\/+$/, '');
    this.url = `${this.base}/chat/completions`;
    if (options.price) this.stats.cost = 0;
  }

  private get authHeader(): Record<string, string> {
    return this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {};
  }

  /**
   * Reach the server once (GET /models, which every OpenAI-compatible server answers quickly, if only with
   * 404): any HTTP answer will do. One that cannot be reached fails here, once, for every request waiting.
   */
  checkReachable(): Promise<void> {
    this.reached ??= (async () => {
      const limit = Math.min(this.options.timeoutMs ?? 120_000, PROBE_TIMEOUT_MS);
      try {
        const res = await fetch(`${this.base}/models`, { headers: this.authHeader, signal: AbortSignal.timeout(limit) });
        await res.body?.cancel().catch(() => undefined);
      } catch (err) {
        const why = (err as Error).name === 'TimeoutError' ? `no answer within ${Math.max(1, Math.round(limit / 1000))} s` : networkReason(err);
        throw new DocTuneError('CONNECTION', `cannot reach the teacher at ${this.options.baseUrl}: ${why}`, { cause: err });
      }
    })();
    return this.reached;
  }

  get concurrency(): number {
    return Math.max(1, this.options.concurrency ?? 4);
  }

  /** The reply parsed as JSON and validated by `parse` (null when it is neither). */
  async json<T>(prompt: string, schema: { name: string; schema: object }, parse: (v: unknown) => T | null, maxTokens: number): Promise<T | null> {
    const content = await this.complete(prompt, schema, maxTokens);
    this.stats.outputs++;
    const value = parse(extractJson(content));
    if (value === null) this.stats.unparsable++;
    return value;
  }

  private async acquire(): Promise<void> {
    if (this.active < this.concurrency) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }

  private async complete(prompt: string, schema: { name: string; schema: object }, maxTokens: number): Promise<string> {
    await this.checkReachable();
    await this.acquire();
    try {
      const maxRetries = this.options.maxRetries ?? 5;
      let lastReason = '';
      for (let attempt = 0; ; attempt++) {
        try {
          return await this.request(prompt, schema, maxTokens);
        } catch (err) {
          if (!(err instanceof Transient)) throw err;
          lastReason = err.message;
          if (attempt >= maxRetries) break;
          this.stats.retries++;
          const backoff = Math.min(MAX_BACKOFF_MS, (this.options.backoffMs ?? 500) * 2 ** attempt) * (0.5 + Math.random() / 2);
          await new Promise((r) => setTimeout(r, err.retryAfterMs ?? backoff));
        }
      }
      throw new DocTuneError('TIMEOUT', `${this.url}: no answer after ${maxRetries + 1} attempts (${lastReason})`);
    } finally {
      this.release();
    }
  }

  private body(prompt: string, schema: { name: string; schema: object }, maxTokens: number): object {
    const format =
      this.mode === 'json_schema' ? { response_format: { type: 'json_schema', json_schema: { name: schema.name, schema: schema.schema, strict: false } } }
        : this.mode === 'json_object' ? { response_format: { type: 'json_object' } }
          : {};
    return { model: this.options.model, messages: [{ role: 'user', content: prompt }], temperature: 0, max_tokens: maxTokens, ...format };
  }

  private async request(prompt: string, schema: { name: string; schema: object }, maxTokens: number): Promise<string> {
    this.stats.requests++;
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...this.authHeader },
        body: JSON.stringify(this.body(prompt, schema, maxTokens)),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 120_000),
      });
    } catch (err) {
      const e = err as Error;
      throw new Transient(e.name === 'TimeoutError' ? 'timed out' : `network error: ${networkReason(e)}`);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw new Transient(`connection lost while reading the reply: ${(err as Error).message}`);
    }
    if (res.status === 429 || res.status >= 500) throw new Transient(`HTTP ${res.status}`, retryAfterMs(res.headers));
    if (res.status === 400 && this.mode !== 'none' && /response_format|json_schema|json_object|structured/i.test(text)) {
      // The server does not take this kind of response_format: ask with the next simpler one.
      this.mode = this.mode === 'json_schema' ? 'json_object' : 'none';
      throw new Transient(`the server does not support this response_format; trying ${this.mode}`, 0);
    }
    if (!res.ok) {
      const detail = text.slice(0, 300).replace(/\s+/g, ' ');
      const hint = res.status === 401 || res.status === 403 ? ' (check the API key)' : res.status === 404 ? ' (check the base URL and model name)' : '';
      throw new DocTuneError('MODEL', `${this.url} answered HTTP ${res.status}${hint}: ${detail}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Transient('malformed JSON in the reply');
    }
    const reply = CompletionReply.safeParse(json);
    // A reply without a message's text (a server's hiccup, a proxy's page) is worth another try.
    if (!reply.success) throw new Transient(`the reply has no message content (${reply.error.issues[0]?.path.join('.') || 'reply'}: ${reply.error.issues[0]?.message ?? 'unexpected'})`);
    const body = reply.data;
    const content = body.choices[0]!.message.content;
    const inTok = body.usage?.prompt_tokens ?? 0;
    const outTok = body.usage?.completion_tokens ?? 0;
    this.stats.promptTokens += inTok;
    this.stats.completionTokens += outTok;
    if (this.options.price && this.stats.cost !== undefined) this.stats.cost += (inTok * this.options.price.input + outTok * this.options.price.output) / 1e6;
    return content;
  }
}

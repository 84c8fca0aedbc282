/**
 * `doctune serve`: the adapted model behind the OpenAI wire format — GET /v1/models and POST
 * /v1/chat/completions, streaming (server-sent events) or not — so any OpenAI client can use it. An API key
 * can be required (401 without it); a full queue answers 429 with Retry-After; a crashed model process
 * answers 503 and is restarted for the next request.
 *
 * Web pages: without an API key only requests addressed to this machine by a loopback name are served
 * (the Host header, against DNS rebinding), and no browser page may call it (a request with an Origin
 * header is refused) unless its origin is allowed (`allowOrigins`, then with CORS headers for it).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { QueueFullError, type ChatHost } from './chat-host.js';
import { DocTuneError, toWireError } from '../errors.js';

/** How the server runs the model unless told otherwise, in the app's Serve tab and `doctune serve` alike. */
export const SERVE_DEFAULTS = { parallel: 2, queue: 16 } as const;

export interface OpenAiServerOptions {
  host: ChatHost;
  /** The name clients use for the model. */
  modelName: string;
  port?: number;
  hostname?: string;
  apiKey?: string;
  /** Largest request body. */
  maxBodyBytes?: number;
  /** Web page origins (e.g. http://localhost:3000) allowed to call the API from a browser. */
  allowOrigins?: string[];
}

export interface OpenAiServer {
  url: string;
  close(): Promise<void>;
}

const Message = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.union([z.string(), z.array(z.object({ type: z.literal('text'), text: z.string() }))]),
});
const ChatRequest = z.object({
  model: z.string().optional(),
  messages: z.array(Message).min(1),
  stream: z.boolean().optional(),
  max_tokens: z.number().int().min(1).max(32_768).optional(),
  max_completion_tokens: z.number().int().min(1).max(32_768).optional(),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().gt(0).max(1).optional(),
  seed: z.number().int().optional(),
}).passthrough();

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);
export const isLoopbackName = (host: string): boolean => LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);

function error(res: http.ServerResponse, status: number, message: string, type: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify({ error: { message, type, code: null } }));
}

async function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new DocTuneError('TOO_LARGE', 'request body too large');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startOpenAiServer(o: OpenAiServerOptions): Promise<OpenAiServer> {
  const created = Math.floor(Date.now() / 1000);
  const authorised = (req: http.IncomingMessage): boolean => {
    if (!o.apiKey) return true;
    const given = Buffer.from(req.headers.authorization ?? '');
    const want = Buffer.from(`Bearer ${o.apiKey}`);
    return given.length === want.length && timingSafeEqual(given, want);
  };

  const completions = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    let body: z.infer<typeof ChatRequest>;
    try {
      body = ChatRequest.parse(JSON.parse(await readBody(req, o.maxBodyBytes ?? 4 * 1024 * 1024)));
    } catch (err) {
      return error(res, 400, err instanceof z.ZodError ? `invalid request: ${err.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` : toWireError(err).message, 'invalid_request_error');
    }
    const messages = body.messages.map((m) => ({ role: m.role, content: typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join('') }));
    const id = `chatcmpl-${randomUUID()}`;
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    const options = {
      maxTokens: body.max_completion_tokens ?? body.max_tokens ?? 512, temperature: body.temperature ?? 0.7, topP: body.top_p ?? 1,
      ...(body.seed !== undefined ? { seed: body.seed } : {}), signal: controller.signal,
    };
    const chunk = (delta: object, finish: string | null): string =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: o.modelName, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    try {
      if (body.stream) {
        let started = false;
        const begin = (): void => {
          if (started) return;
          started = true;
          res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
          res.write(chunk({ role: 'assistant', content: '' }, null));
        };
        const g = await o.host.generate(messages, { ...options, onToken: (text) => (begin(), res.write(chunk({ content: text }, null))) });
        begin();
        res.write(chunk({}, g.finishReason));
        res.end('data: [DONE]\n\n');
      } else {
        const g = await o.host.generate(messages, options);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
          id, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: o.modelName,
          choices: [{ index: 0, message: { role: 'assistant', content: g.text }, finish_reason: g.finishReason }],
          usage: { prompt_tokens: g.promptTokens, completion_tokens: g.completionTokens, total_tokens: g.promptTokens + g.completionTokens },
        }));
      }
    } catch (err) {
      if (res.headersSent) return void res.end();
      if (err instanceof QueueFullError) return error(res, 429, err.message, 'rate_limit_exceeded', { 'retry-after': '1' });
      error(res, err instanceof DocTuneError && err.code === 'MODEL' ? 503 : 500, toWireError(err).message, 'server_error');
    }
  };

  const allowOrigins = new Set(o.allowOrigins ?? []);
  // Without a key, a request must name this machine by a loopback name: a rebound DNS name is refused.
  const hostAllowed = (req: http.IncomingMessage): boolean => {
    if (o.apiKey || !isLoopbackName(o.hostname ?? '127.0.0.1')) return true;
    const host = req.headers.host;
    if (!host) return false;
    try {
      return LOOPBACK.has(new URL(`http://${host}`).hostname);
    } catch {
      return false;
    }
  };

  const server = http.createServer((req, res) => {
    void (async (): Promise<void> => {
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://localhost');
      } catch {
        return error(res, 400, 'bad request target', 'invalid_request_error');
      }
      if (!hostAllowed(req)) return error(res, 403, `Host ${req.headers.host ?? '(none)'} is not this server's: use 127.0.0.1 or localhost`, 'invalid_request_error');
      const origin = req.headers.origin;
      if (origin !== undefined) {
        if (!allowOrigins.has(origin)) return error(res, 403, `requests from web pages (${origin}) are not allowed; start the server with --allow-origin ${origin}`, 'invalid_request_error');
        res.setHeader('access-control-allow-origin', origin);
        res.setHeader('vary', 'origin');
        if (req.method === 'OPTIONS') {
          return void res.writeHead(204, { 'access-control-allow-methods': 'GET, POST', 'access-control-allow-headers': 'authorization, content-type', 'access-control-max-age': '600' }).end();
        }
      }
      if (!authorised(req)) return error(res, 401, 'invalid or missing API key', 'invalid_request_error');
      if (req.method === 'GET' && url.pathname === '/v1/models') {
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [{ id: o.modelName, object: 'model', created, owned_by: 'doctune' }] }));
      }
      if (req.method === 'POST' && url.pathname === '/v1/chat/completions') return completions(req, res);
      error(res, 404, `no route ${req.method} ${url.pathname}`, 'invalid_request_error');
    })().catch((err: unknown) => {
      if (!res.headersSent) error(res, 500, toWireError(err).message, 'server_error');
    });
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 8080, o.hostname ?? '127.0.0.1', () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}/v1`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { WebSocketServer, type WebSocket } from 'ws';
import type { z } from 'zod';
import { APP_CSP, events, isChannel, SocketRequest, type EventName } from '../../shared/contract.js';
import type { Engine } from '../api/engine.js';
import { DocTuneError, toWireError } from '../errors.js';

export interface BrowserServerOptions {
  engine: Engine;
  staticDir: string;
  uploadDir: string;
  host?: string;
  port?: number;
  token?: string;
  maxUploadBytes?: number;
}

export interface BrowserServer {
  url: string;
  /** http://host:port as a browser names this server. */
  origin: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

const SECURITY_HEADERS = {
  'Content-Security-Policy': APP_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

/** The request target as a URL, or null when it is not one (e.g. "//[" or "http://%"). */
export function requestTarget(target: string | undefined): URL | null {
  try {
    return new URL(target ?? '/', 'http://localhost');
  } catch {
    return null;
  }
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/** `http://host:port` for a host as given to listen (IPv6 addresses in brackets). */
export function originOf(host: string, port: number): string {
  return `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}

/**
 * Whether a browser page from `origin` may use the API: the page DocTune served (under the address it
 * listens on, or the name the browser used for it: Origin equal to the Host it asked), or any page on a
 * loopback name (localhost, 127.0.0.1, [::1]) at any port — what an SSH tunnel to a remote DocTune shows.
 * Requests without an Origin header do not come from a web page. The token is required either way.
 */
export function originAllowed(origin: string | undefined, own: string, hostHeader?: string): boolean {
  if (origin === undefined || origin === own || (hostHeader && origin === `http://${hostHeader}`)) return true;
  try {
    const u = new URL(origin);
    return u.protocol === 'http:' && LOOPBACK_NAMES.has(u.hostname) && u.pathname === '/';
  } catch {
    return false;
  }
}

/**
 * Browser mode: the built renderer and the engine's contract over a WebSocket, on loopback, guarded by a
 * random token that only the printed URL carries (and by an Origin check against cross-site pages).
 */
export async function startBrowserServer(options: BrowserServerOptions): Promise<BrowserServer> {
  const token = options.token ?? randomBytes(24).toString('base64url');
  const host = options.host ?? '127.0.0.1';
  const maxUpload = options.maxUploadBytes ?? 1024 * 1024 * 1024;
  const staticRoot = path.resolve(options.staticDir);
  await fs.access(path.join(staticRoot, 'index.html')).catch(() => {
    throw new DocTuneError('NOT_FOUND', `the UI is not built (missing ${staticRoot}/index.html); run: npm run build`);
  });
  let origin = '';

  const authorised = (url: URL): boolean => {
    const given = Buffer.from(url.searchParams.get('token') ?? '');
    const want = Buffer.from(token);
    return given.length === want.length && timingSafeEqual(given, want);
  };

  const server = http.createServer((req, res) => {
    void (async (): Promise<void> => {
      const url = requestTarget(req.url);
      if (!url) return send(res, 400, { error: 'bad request target' });
      if (req.method === 'POST' && url.pathname === '/upload') {
        if (!authorised(url) || !originAllowed(req.headers.origin, origin, req.headers.host)) return send(res, 403, { error: 'forbidden' });
        try {
          const stored = await receiveUpload(req, options.uploadDir, maxUpload);
          return send(res, 200, { path: stored });
        } catch (err) {
          return send(res, 400, { error: toWireError(err).message });
        }
      }
      if (req.method === 'GET' && url.pathname.startsWith('/export/')) {
        // Exported training sets, downloaded to the browser's machine (names only; no paths).
        if (!authorised(url)) return send(res, 403, { error: 'forbidden' });
        const name = safeDecode(url.pathname.slice('/export/'.length));
        if (!name || !/^[\w.-]+$/.test(name)) return send(res, 400, { error: 'bad file name' });
        const file = path.join(await options.engine.dataset.exportsDir(), name);
        const data = await fs.readFile(file).catch(() => null);
        if (!data) return send(res, 404, { error: 'not found' });
        res.writeHead(200, { 'content-type': name.endsWith('.jsonl') ? 'application/jsonl' : 'application/json', 'content-disposition': `attachment; filename="${name}"`, 'x-content-type-options': 'nosniff' });
        return void res.end(data);
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
      await serveStatic(res, staticRoot, url.pathname);
    })().catch((err: unknown) => send(res, 500, { error: toWireError(err).message }));
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024 * 1024 });
  // Nothing a client sends may throw here: an exception in an upgrade handler would end the process.
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => undefined);
    try {
      const url = requestTarget(req.url);
      if (!url) {
        socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
        return;
      }
      if (url.pathname !== '/api' || !authorised(url) || !originAllowed(req.headers.origin, origin, req.headers.host)) {
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => serveSocket(ws, options.engine));
    } catch {
      socket.destroy();
    }
  });
  // A malformed request line or header: 400 and close, as Node does, without a stack trace.
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  origin = originOf(host, port);
  return {
    url: `${origin}/?token=${token}`,
    origin,
    port,
    token,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function serveSocket(ws: WebSocket, engine: Engine): void {
  const unsubscribe = (Object.keys(events) as EventName[]).map((name) =>
    engine.on(name, (payload) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ event: name, payload }));
    }),
  );
  ws.on('close', () => unsubscribe.forEach((u) => u()));
  ws.on('message', (data) => {
    let msg: z.infer<typeof SocketRequest>;
    try {
      msg = SocketRequest.parse(JSON.parse(String(data)));
    } catch {
      return ws.send(JSON.stringify({ id: null, ok: false, error: { code: 'BAD_ARGUMENT', message: 'malformed message: expected {"id", "channel", "args"}' } }));
    }
    const id = msg.id ?? null;
    if (!isChannel(msg.channel)) {
      return ws.send(JSON.stringify({ id, ok: false, error: { code: 'BAD_ARGUMENT', message: `unknown channel ${String(msg.channel)}` } }));
    }
    engine
      .invoke(msg.channel, msg.args)
      .then((result) => ws.send(JSON.stringify({ id, ok: true, result })))
      .catch((err: unknown) => ws.send(JSON.stringify({ id, ok: false, error: toWireError(err) })));
  });
}

function safeDecode(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

async function serveStatic(res: http.ServerResponse, root: string, pathname: string): Promise<void> {
  const rel = safeDecode(pathname === '/' ? '/index.html' : pathname);
  if (rel === null || rel.includes('\0')) return send(res, 400, { error: 'bad path' });
  const file = path.resolve(root, `.${rel}`);
  if (!file.startsWith(root + path.sep)) return send(res, 404, { error: 'not found' });
  const stat = await fs.stat(file).catch(() => null);
  if (!stat?.isFile()) return send(res, 404, { error: 'not found' });
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
    'Content-Length': stat.size,
    'Cache-Control': rel === '/index.html' ? 'no-store' : 'max-age=3600',
  });
  await pipeline(createReadStream(file), res);
}

/** Store one uploaded file under the upload folder, at its (sanitised) relative path. */
async function receiveUpload(req: http.IncomingMessage, uploadDir: string, maxBytes: number): Promise<string> {
  const header = req.headers['x-doctune-path'];
  const raw = safeDecode(Array.isArray(header) ? (header[0] ?? '') : (header ?? '')) ?? '';
  const parts = raw.split(/[\\/]+/).filter((p) => p && p !== '.' && p !== '..');
  if (!parts.length) throw new DocTuneError('BAD_ARGUMENT', 'upload needs an X-DocTune-Path header');
  const target = path.join(path.resolve(uploadDir), ...parts);
  await fs.mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.part-${randomBytes(4).toString('hex')}`;
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > maxBytes) req.destroy(new DocTuneError('TOO_LARGE', `upload larger than ${maxBytes} bytes`));
  });
  try {
    await pipeline(req, createWriteStream(tmp));
    await fs.rename(tmp, target);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  return target;
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

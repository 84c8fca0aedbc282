import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatHost } from './chat-host.js';
import { tempDir, TINY_MODEL } from '../testing/corpus.js';
import { malformedRequests, rawRequest } from '../testing/raw-http.js';
import { startOpenAiServer, type OpenAiServer } from './openai-server.js';

describe('doctune serve: the OpenAI wire format, driven by the openai client', () => {
  let host: ChatHost;
  let server: OpenAiServer;
  let client: OpenAI;

  beforeAll(async () => {
    host = await ChatHost.open({ modelPath: TINY_MODEL, parallel: 2, maxQueue: 6, contextSize: 512 });
    server = await startOpenAiServer({ host, modelName: 'stories260K', port: 0, apiKey: 'sk-serve' });
    client = new OpenAI({ baseURL: server.url, apiKey: 'sk-serve', maxRetries: 0 });
  });
  afterAll(async () => {
    await server?.close();
    await host?.close();
  });

  it('lists the model', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['stories260K']);
  });

  it('answers without and with streaming, the same greedy text', async () => {
    const messages = [{ role: 'user' as const, content: 'Once upon a time' }];
    const plain = await client.chat.completions.create({ model: 'stories260K', messages, max_tokens: 24, temperature: 0 });
    const text = plain.choices[0]!.message.content!;
    expect(text.length).toBeGreaterThan(0);
    expect(plain.usage!.completion_tokens).toBeGreaterThan(0);
    const stream = await client.chat.completions.create({ model: 'stories260K', messages, max_tokens: 24, temperature: 0, stream: true });
    let streamed = '';
    let chunks = 0;
    let finish: string | null = null;
    for await (const c of stream) {
      streamed += c.choices[0]?.delta.content ?? '';
      chunks++;
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    expect(chunks).toBeGreaterThan(2);
    expect(streamed).toBe(text);
    expect(finish).toMatch(/stop|length/);
  });

  it('64 requests at once: every one completes or gets 429, and the server keeps serving', async () => {
    const results = await Promise.allSettled(Array.from({ length: 64 }, (_, i) =>
      client.chat.completions.create({ model: 'stories260K', messages: [{ role: 'user', content: `Tell story ${i}` }], max_tokens: 8 })));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const limited = results.filter((r) => r.status === 'rejected' && (r.reason as { status?: number }).status === 429).length;
    expect(ok + limited).toBe(64);
    expect(ok).toBeGreaterThanOrEqual(8); // the running slots and the queue
    expect(limited).toBeGreaterThan(0);
    const after = await client.chat.completions.create({ model: 'stories260K', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 });
    expect(after.choices[0]!.message.role).toBe('assistant');
  });

  it('refuses a wrong API key with 401 and a bad request with 400', async () => {
    const wrong = new OpenAI({ baseURL: server.url, apiKey: 'sk-wrong', maxRetries: 0 });
    await expect(wrong.models.list()).rejects.toMatchObject({ status: 401 });
    await expect(client.chat.completions.create({ model: 'x', messages: [] })).rejects.toMatchObject({ status: 400 });
  });

  it('a crashed model process fails its request with 503 and is restarted for the next one', async () => {
    const pending = client.chat.completions.create({ model: 'stories260K', messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 2000, temperature: 0 });
    await new Promise((r) => setTimeout(r, 300));
    host.killWorker();
    await expect(pending).rejects.toMatchObject({ status: 503 });
    expect(host.lastCrash).toMatch(/model process stopped/);
    const next = await client.chat.completions.create({ model: 'stories260K', messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 8, temperature: 0 });
    expect(next.choices[0]!.message.content!.length).toBeGreaterThan(0);
  });

  it('a request that leaves while it waits for a slot, or while the model loads, generates nothing', async () => {
    // Both slots busy with long answers; a third waits, and its client goes away.
    const busy = [0, 1].map(() => host.generate([{ role: 'user', content: 'Once upon a time' }], { maxTokens: 1500, temperature: 0 }));
    let tokens = 0;
    const controller = new AbortController();
    const waiting = host.generate([{ role: 'user', content: 'Once upon a time' }], { maxTokens: 1500, temperature: 0, signal: controller.signal, onToken: () => tokens++ });
    await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    const left = await waiting;
    expect(left).toMatchObject({ text: '', finishReason: 'stop', completionTokens: 0 });
    const done = await Promise.all(busy);
    expect(done.every((g) => g.text.length > 0)).toBe(true);
    expect(tokens).toBe(0);
    // Already stopped: nothing happens at all.
    const gone = new AbortController();
    gone.abort();
    expect(await host.generate([{ role: 'user', content: 'Hi' }], { signal: gone.signal, onToken: () => tokens++ })).toMatchObject({ text: '' });
    // Stopped while the model process starts again (the app's Stop pressed during loading).
    host.killWorker();
    await new Promise((r) => setTimeout(r, 100));
    const loading = new AbortController();
    const during = host.generate([{ role: 'user', content: 'Once upon a time' }], { maxTokens: 1500, signal: loading.signal, onToken: () => tokens++ });
    loading.abort();
    expect(await during).toMatchObject({ text: '', completionTokens: 0 });
    expect(tokens).toBe(0);
  });

  it('without a key: only loopback Host names, and no web page unless its origin is allowed (then with CORS)', async () => {
    const open = await startOpenAiServer({ host, modelName: 'stories260K', port: 0, allowOrigins: ['http://localhost:3000'] });
    try {
      const port = new URL(open.url).port;
      const get = (headers: string): Promise<string> => rawRequest(Number(port), `GET /v1/models HTTP/1.1\r\n${headers}Connection: close\r\n\r\n`);
      expect(await get(`Host: 127.0.0.1:${port}\r\n`)).toMatch(/^HTTP\/1\.1 200/);
      expect(await get(`Host: localhost:${port}\r\n`)).toMatch(/^HTTP\/1\.1 200/);
      // DNS rebinding: a name that now points here, but is not this machine's.
      expect(await get(`Host: evil.example:${port}\r\n`)).toMatch(/^HTTP\/1\.1 403/);
      // A page on another site, e.g. a text/plain POST it needs no preflight for.
      const post = await rawRequest(Number(port), `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: http://evil.example\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
      expect(post).toMatch(/^HTTP\/1\.1 403/);
      const preflight = await rawRequest(Number(port), `OPTIONS /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: http://localhost:3000\r\nAccess-Control-Request-Method: POST\r\nConnection: close\r\n\r\n`);
      expect(preflight).toMatch(/^HTTP\/1\.1 204/);
      expect(preflight.toLowerCase()).toContain('access-control-allow-origin: http://localhost:3000');
      const allowed = await get(`Host: 127.0.0.1:${port}\r\nOrigin: http://localhost:3000\r\n`);
      expect(allowed).toMatch(/^HTTP\/1\.1 200/);
      // Malformed request lines get 400, and the server goes on.
      for (const bad of malformedRequests(300, 7)) expect(await rawRequest(Number(port), bad)).not.toMatch(/^HTTP\/1\.1 5/);
      expect(await get(`Host: 127.0.0.1:${port}\r\n`)).toMatch(/^HTTP\/1\.1 200/);
    } finally {
      await open.close();
    }
  });

  it('refuses a file that is not a model, naming it, before llama.cpp sees it', async () => {
    await expect(ChatHost.open({ modelPath: path.join(tempDir('serve'), 'missing.gguf') })).rejects.toThrow(/not a usable GGUF model/);
  });
});

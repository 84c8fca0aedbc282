import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DocTuneError } from '../errors.js';
import { ingestPaths } from '../ingest/ingest-files.js';
import { DocumentParser } from '../ingest/parse-pool.js';
import { listQaPairs } from '../store/qa-store.js';
import { Workspace } from '../store/workspace.js';
import { startChatServer } from '../testing/chat-completions-server.js';
import { doctuneAsync } from '../testing/cli.js';
import { REPO_ROOT, tempDir, TINY_MODEL } from '../testing/corpus.js';
import { parseApiTeacher } from './api-teacher.js';
import { retryAfterMs } from './chat-completions-client.js';
import { generatePairs } from './generate.js';
import { extractJson } from './json-extract.js';

describe('reading an API reply', () => {
  it('finds the JSON in plain, fenced or chatty replies', () => {
    expect(extractJson('{"questions": ["a?"]}')).toEqual({ questions: ['a?'] });
    expect(extractJson('Sure!\n```json\n{"answer": "x", "evidence": "y"}\n```')).toEqual({ answer: 'x', evidence: 'y' });
    expect(extractJson('Here it is: {"answer": "a } in text", "evidence": "{"} hope that helps {')).toEqual({ answer: 'a } in text', evidence: '{' });
    expect(extractJson('no json here')).toBeNull();
  });

  it('reads Retry-After as seconds, as a date, and as milliseconds', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }), now)).toBe(2000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }), now)).toBe(5000);
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '150' }), now)).toBe(150);
    expect(retryAfterMs(new Headers({ 'retry-after': '99999' }), now)).toBe(120_000);
    expect(retryAfterMs(new Headers(), now)).toBeNull();
  });

  it('parses openai:BASE_URL#MODEL', () => {
    expect(parseApiTeacher('openai:http://127.0.0.1:11434/v1#qwen2.5:7b')).toEqual({ baseUrl: 'http://127.0.0.1:11434/v1', model: 'qwen2.5:7b' });
    expect(() => parseApiTeacher('openai:gpt-4o')).toThrow(/BASE_URL#MODEL/);
  });
});

describe('OpenAI-compatible teacher against a real model on 127.0.0.1', () => {
  const parser = new DocumentParser();
  let ws: Workspace;
  const opened: Workspace[] = [];
  const workspaceWith = async (name: string, text: string): Promise<Workspace> => {
    const dir = tempDir(name);
    fs.writeFileSync(path.join(dir, 'doc.md'), text);
    const w = await Workspace.open(path.join(dir, 'ws'));
    opened.push(w);
    await ingestPaths(w, [path.join(dir, 'doc.md')], { parser });
    return w;
  };

  beforeAll(async () => {
    const dir = tempDir('api-teacher');
    const doc = path.join(dir, 'procedure.md');
    fs.writeFileSync(doc, [
      '# Lockout procedure',
      'Lockout device means a device that uses a lock to hold an energy-isolating device in a safe position.',
      'Employers must retrain employees at least every 12 months.',
      '## Release from lockout',
      'Before lockout devices are removed, the work area must be inspected to ensure that nonessential items have been removed.',
    ].join('\n\n'));
    ws = await Workspace.open(path.join(dir, 'ws'));
    await ingestPaths(ws, [doc], { parser });
  });
  afterAll(async () => {
    await parser.close();
    ws.close();
    for (const w of opened) w.close();
  });

  it('retries 429 (after Retry-After), 500, a timeout and a malformed body, and every output parses', async () => {
    const server = await startChatServer({
      modelPath: TINY_MODEL, apiKey: 'sk-test',
      faults: [{ kind: 'status', status: 429, retryAfter: '1' }, { kind: 'status', status: 500 }, { kind: 'hang' }, { kind: 'malformed' }],
    });
    try {
      const summary = await generatePairs(ws, {
        teacher: { api: { baseUrl: server.url, model: 'stories260K', apiKey: 'sk-test', concurrency: 1, timeoutMs: 3000, backoffMs: 50, price: { input: 1, output: 2 } } },
        questionsPerChunk: 2,
        paraphrases: 1,
      });
      expect(summary.failed).toBe(0);
      expect(summary.chunks).toBeGreaterThan(0);
      expect(summary.questions).toBe(summary.pairs - summary.paraphrases + summary.rejected_ungrounded + summary.duplicates);
      const stats = summary.outputs!;
      expect(stats.retries).toBeGreaterThanOrEqual(4);
      expect(stats.outputs).toBeGreaterThan(summary.chunks); // questions, then answers
      expect(stats.unparsable).toBe(0); // response_format: json_schema
      expect(stats.promptTokens).toBeGreaterThan(0);
      expect(stats.cost).toBeCloseTo((stats.promptTokens! + 2 * stats.completionTokens!) / 1e6, 9);
      const after429 = server.requests.findIndex((r) => r.status === 429);
      expect(server.requests[after429 + 1]!.at - server.requests[after429]!.at).toBeGreaterThanOrEqual(950);
      expect(server.requests.every((r) => r.responseFormat === 'json_schema')).toBe(true);
      // What was stored came from this teacher and rests on its passage.
      for (const p of await listQaPairs(ws)) {
        expect(p.source).toBe('api');
        expect(p.teacher).toBe('stories260K');
      }
    } finally {
      await server.close();
    }
  });

  it('steps down to json_object when the server refuses json_schema', async () => {
    const server = await startChatServer({ modelPath: TINY_MODEL, faults: [{ kind: 'reject-json-schema' }] });
    try {
      const w = await workspaceWith('api-teacher-2', '# Exits\n\nKeep exit routes clear of obstructions at all times.');
      {
        const summary = await generatePairs(w, { teacher: { api: { baseUrl: server.url, model: 'm', concurrency: 1, backoffMs: 10 } }, questionsPerChunk: 1 });
        expect(summary.failed).toBe(0);
        expect(server.requests[0]).toMatchObject({ status: 400, responseFormat: 'json_schema' });
        expect(server.requests.slice(1).every((r) => r.responseFormat === 'json_object' && r.status === 200)).toBe(true);
        // json_object only promises JSON, not its shape: what does not validate is counted, not stored.
        expect(summary.outputs!.outputs).toBeGreaterThan(0);
        expect(summary.outputs!.unparsable).toBeLessThanOrEqual(summary.outputs!.outputs);
      }
    } finally {
      await server.close();
    }
  });

  it('doctune generate --teacher openai:URL#MODEL --api-key-env prints the contract summary', async () => {
    const server = await startChatServer({ modelPath: TINY_MODEL, apiKey: 'sk-cli' });
    try {
      const w = await workspaceWith('api-teacher-cli', '# Exits\n\nKeep exit routes clear of obstructions at all times.');
      w.close();
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'electron/engine/cli/bin.ts'), 'generate', '--workspace', w.dir,
        '--teacher', `openai:${server.url}#stories260K`, '--api-key-env', 'TEST_TEACHER_KEY', '--questions-per-chunk', '1', '--json'],
      { cwd: REPO_ROOT, env: { ...process.env, TEST_TEACHER_KEY: 'sk-cli' } });
      const summary = JSON.parse(stdout);
      for (const key of ['chunks', 'questions', 'pairs', 'rejected_ungrounded', 'duplicates', 'failed']) expect(summary).toHaveProperty(key);
      expect(summary.chunks).toBeGreaterThan(0);
      expect(summary.outputs.requests).toBeGreaterThan(0);
      expect(server.requests.every((r) => r.status === 200)).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('stops the run with the reason when the key is refused', async () => {
    const server = await startChatServer({ modelPath: TINY_MODEL, apiKey: 'sk-right' });
    try {
      const w = await workspaceWith('api-teacher-3', '# Exits\n\nKeep exit routes clear of obstructions at all times.');
      const run = generatePairs(w, { teacher: { api: { baseUrl: server.url, model: 'm', apiKey: 'sk-wrong' } }, questionsPerChunk: 1 });
      await expect(run).rejects.toThrow(DocTuneError);
      await expect(run).rejects.toThrow(/HTTP 401 \(check the API key\)/);
    } finally {
      await server.close();
    }
  });
});

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** An HTTP server answering every request with `reply` (no model behind it). */
async function stubServer(reply: (req: http.IncomingMessage) => { status: number; body: string } | null): Promise<{ url: string; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      hits.push(`${req.method} ${req.url}`);
      const r = reply(req);
      if (r) res.writeHead(r.status, { 'content-type': 'application/json' }).end(r.body);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    hits,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

const chatReply = (content: string): string => JSON.stringify({ choices: [{ message: { role: 'assistant', content } }], usage: { prompt_tokens: 10, completion_tokens: 5 } });

describe('an API teacher that cannot be reached or refuses', () => {
  const parser = new DocumentParser();
  let ws: Workspace;
  let docFile = '';
  beforeAll(async () => {
    const dir = tempDir('api-unreachable');
    docFile = path.join(dir, 'exits.md');
    fs.writeFileSync(docFile, ['# Exits', 'Keep exit routes clear of obstructions at all times.', '## Doors', 'Exit doors must open from the inside without a key.',
      '## Signs', 'Every exit must be marked by a readily visible sign.', '## Lighting', 'Exit routes must be lit so that an employee can see along the route.'].join('\n\n'));
    ws = await Workspace.open(path.join(dir, 'ws'));
    await ingestPaths(ws, [docFile], { parser });
    ws.close();
    ws = await Workspace.open(path.join(dir, 'ws'));
  });
  afterAll(async () => {
    await parser.close();
    ws.close();
  });

  it('stops at once on a closed port, naming the URL and the reason', async () => {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}/v1`;
    const started = Date.now();
    const run = generatePairs(ws, { teacher: { api: { baseUrl: url, model: 'm', concurrency: 4 } }, questionsPerChunk: 1 });
    const err = await run.then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(DocTuneError);
    expect((err as DocTuneError).code).toBe('CONNECTION');
    expect((err as DocTuneError).message).toContain(url);
    expect((err as DocTuneError).message).toMatch(/connection refused/i);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await listQaPairs(ws)).toEqual([]);
  });

  it('stops at once when a host never answers', async () => {
    const server = await stubServer(() => null);
    try {
      const started = Date.now();
      const run = generatePairs(ws, { teacher: { api: { baseUrl: server.url, model: 'm', timeoutMs: 1000 } }, questionsPerChunk: 1 });
      await expect(run).rejects.toMatchObject({ code: 'CONNECTION', message: expect.stringMatching(/no answer/) });
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await server.close();
    }
  });

  it('stops at once on a refused key (401), with the server\'s words', async () => {
    const server = await stubServer(() => ({ status: 401, body: '{"error":{"message":"Incorrect API key provided"}}' }));
    try {
      const started = Date.now();
      const run = generatePairs(ws, { teacher: { api: { baseUrl: server.url, model: 'm', apiKey: 'sk-wrong' } }, questionsPerChunk: 1 });
      await expect(run).rejects.toMatchObject({ code: 'MODEL', message: expect.stringMatching(/HTTP 401 \(check the API key\).*Incorrect API key/) });
      expect(Date.now() - started).toBeLessThan(3000);
      // One refusal is enough: no request is retried.
      expect(server.hits.filter((h) => h.startsWith('POST')).length).toBeLessThanOrEqual(4);
    } finally {
      await server.close();
    }
  });

  it('fails the run with the first reason when every request failed', async () => {
    const server = await stubServer((req) => (req.method === 'POST' ? { status: 503, body: '{"error":{"message":"overloaded"}}' } : { status: 404, body: '{}' }));
    try {
      const run = generatePairs(ws, { teacher: { api: { baseUrl: server.url, model: 'm', backoffMs: 1, maxRetries: 1 } }, questionsPerChunk: 1 });
      await expect(run).rejects.toMatchObject({ message: expect.stringMatching(/every passage failed.*HTTP 503/) });
    } finally {
      await server.close();
    }
  });

  it('counts malformed answers per passage and still finishes', async () => {
    const server = await stubServer((req) => (req.method === 'POST' ? { status: 200, body: chatReply('I would rather not answer in JSON.') } : { status: 404, body: '{}' }));
    try {
      const summary = await generatePairs(ws, { teacher: { api: { baseUrl: server.url, model: 'm', backoffMs: 1 } }, questionsPerChunk: 1 });
      expect(summary.chunks).toBeGreaterThan(1);
      expect(summary.failed).toBe(0);
      expect(summary.pairs).toBe(0);
      expect(summary.outputs!.unparsable).toBe(summary.outputs!.outputs);
    } finally {
      await server.close();
    }
  });

  it('doctune generate and doctune pipeline exit 1 at once on a closed port, saying why', async () => {
    const port = await closedPort();
    const teacher = `openai:http://127.0.0.1:${port}/v1#m`;
    let started = Date.now();
    const gen = await doctuneAsync('generate', '--workspace', ws.dir, '--teacher', teacher);
    expect(gen.code, gen.stderr).toBe(1);
    expect(gen.stderr).toMatch(new RegExp(`http://127\\.0\\.0\\.1:${port}/v1.*connection refused`, 'i'));
    expect(Date.now() - started).toBeLessThan(15_000);
    started = Date.now();
    const pipe = await doctuneAsync('pipeline', docFile, '--model', TINY_MODEL, '--out', tempDir('api-unreachable-pipeline'), '--teacher', teacher);
    expect(pipe.code, pipe.stderr).toBe(1);
    expect(pipe.stderr).toMatch(/connection refused/i);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});

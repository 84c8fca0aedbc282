import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Engine } from '../api/engine.js';
import { startBrowserServer, type BrowserServer } from './browser-server.js';
import { tempDir } from '../testing/corpus.js';
import { malformedRequests, rawRequest } from '../testing/raw-http.js';

function rpc(ws: WebSocket, id: number, channel: string, args: unknown): Promise<{ ok: boolean; result?: unknown; error?: { code: string } }> {
  return new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData): void => {
      const msg = JSON.parse(String(data));
      if (msg.id === id) {
        ws.off('message', onMessage);
        resolve(msg);
      }
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ id, channel, args }));
  });
}

describe('browser mode server', () => {
  let server: BrowserServer;
  let engine: Engine;
  let wsDir: string;

  beforeAll(async () => {
    const staticDir = tempDir('static');
    fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>DocTune</title>');
    wsDir = tempDir('server-ws');
    engine = new Engine({
      workspaceDir: wsDir,
      capabilities: { nativeDialogs: false, upload: true },
      probeDevices: async () => ({ devices: [{ backend: 'CPU', name: 'CPU', description: 'Test CPU', memoryFree: 1, memoryTotal: 2 }], notes: '' }),
    });
    server = await startBrowserServer({ engine, staticDir, uploadDir: path.join(wsDir, 'uploads') });
  });
  afterAll(async () => {
    await server.close();
    await engine.close();
  });

  it('listens on loopback and serves the UI with a CSP', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{20,}$/);
    const res = await fetch(server.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect((await fetch(new URL('/../../etc/passwd', server.url))).status).toBe(404);
  });

  it('refuses the API without the token or from another origin', async () => {
    const base = server.url.replace('http', 'ws').replace(/\/\?token=.*/, '/api');
    const noToken = new WebSocket(`${base}?token=wrong`);
    await expect(new Promise((_, reject) => noToken.on('error', reject))).rejects.toThrow(/403/);
    const foreign = new WebSocket(`${base}?token=${server.token}`, { origin: 'http://evil.example' });
    await expect(new Promise((_, reject) => foreign.on('error', reject))).rejects.toThrow(/403/);
    const upload = await fetch(new URL('/upload?token=nope', server.url), { method: 'POST', body: 'x' });
    expect(upload.status).toBe(403);
  });

  it('answers malformed request targets with 400 instead of crashing (WebSocket upgrades too)', async () => {
    const port = new URL(server.url).port;
    for (const target of ['//[', 'http://[', '//a:b@[::1', 'http://%']) {
      const upgrade = await rawRequest(Number(port), `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
      expect(upgrade, target).toMatch(/^HTTP\/1\.1 400/);
      const plain = await rawRequest(Number(port), `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      expect(plain, target).toMatch(/^HTTP\/1\.1 400/);
    }
    expect((await fetch(server.url)).status).toBe(200);
  });

  it('survives a few thousand malformed requests: 400 for each, never a 5xx (the few well-formed ones get 200/403/404/405)', async () => {
    const port = Number(new URL(server.url).port);
    const answers = new Map<string, number>();
    const requests = malformedRequests(2000, 42);
    for (let i = 0; i < requests.length; i += 50) {
      const got = await Promise.all(requests.slice(i, i + 50).map((r) => rawRequest(port, r)));
      for (const g of got) {
        const status = /^HTTP\/1\.1 (\d{3})/.exec(g)?.[1] ?? (g === '' ? 'closed' : 'other');
        answers.set(status, (answers.get(status) ?? 0) + 1);
      }
    }
    console.log(`malformed requests to doctune ui: ${[...answers].map(([s, n]) => `${s} ×${n}`).join(', ')}`);
    for (const status of answers.keys()) expect(['200', '400', '403', '404', '405', 'closed']).toContain(status);
    expect(answers.get('400')).toBeGreaterThan(1000);
    expect((await fetch(server.url)).status).toBe(200);
  });

  it("accepts the UI from a loopback name at any port (an SSH tunnel's localhost), not from other sites", async () => {
    const base = server.url.replace('http', 'ws').replace(/\/\?token=.*/, '/api');
    for (const origin of ['http://localhost:9999', 'http://127.0.0.1:1234', 'http://[::1]:8080', server.origin]) {
      const ws = new WebSocket(`${base}?token=${server.token}`, { origin });
      await new Promise<void>((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
      ws.close();
    }
    for (const origin of ['http://localhost.evil.example:9999', 'https://127.0.0.1.nip.io', 'null']) {
      const ws = new WebSocket(`${base}?token=${server.token}`, { origin });
      await expect(new Promise((_, reject) => ws.on('error', reject)), origin).rejects.toThrow(/403/);
    }
  });

  it('listens on IPv6 loopback too (--host ::1)', async () => {
    const staticDir = tempDir('static6');
    fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>DocTune</title>');
    const v6 = await startBrowserServer({ engine, staticDir, uploadDir: path.join(wsDir, 'uploads6'), host: '::1' }).catch(() => null);
    if (!v6) return console.log('skipped: no IPv6 loopback here');
    try {
      expect(v6.url).toMatch(/^http:\/\/\[::1\]:\d+\/\?token=/);
      expect((await fetch(v6.url)).status).toBe(200);
      const ws = new WebSocket(`${v6.url.replace('http', 'ws').replace(/\/\?token=.*/, '/api')}?token=${v6.token}`, { origin: v6.origin });
      await new Promise<void>((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
      ws.close();
    } finally {
      await v6.close();
    }
  });

  it('stores uploads inside the workspace and serves the contract over the socket', async () => {
    const res = await fetch(new URL(`/upload?token=${server.token}`, server.url), {
      method: 'POST',
      headers: { 'X-DocTune-Path': encodeURIComponent('../../escape/指南 one.md') },
      body: '# 指南\n\n发生地震时，应当就近躲避在坚固的桌子下面。\n',
    });
    expect(res.status).toBe(200);
    const { path: stored } = (await res.json()) as { path: string };
    expect(stored).toBe(path.join(wsDir, 'uploads', 'escape', '指南 one.md'));

    const ws = new WebSocket(server.url.replace('http', 'ws').replace('/?token=', '/api?token='));
    await new Promise((resolve) => ws.on('open', resolve));
    const events: string[] = [];
    const done = new Promise<void>((resolve) =>
      ws.on('message', (d) => {
        const msg = JSON.parse(String(d));
        if (msg.event) events.push(msg.event);
        if (msg.event === 'ingest.done') resolve();
      }),
    );
    const started = await rpc(ws, 1, 'ingest.start', { paths: [stored] });
    expect(started.ok).toBe(true);
    await done;
    expect(events).toContain('ingest.progress');
    const hits = await rpc(ws, 2, 'search.query', { query: '地震', k: 2 });
    expect((hits.result as { text: string }[])[0]!.text).toContain('地震');
    const bad = await rpc(ws, 3, 'search.query', { query: 42 });
    expect(bad).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } });
    const unknown = await rpc(ws, 4, 'fs.readFile', { path: '/etc/passwd' });
    expect(unknown).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } });
    const devices = await rpc(ws, 5, 'train.devices', { refresh: true });
    expect(devices).toMatchObject({ ok: true, result: { devices: [{ backend: 'CPU', memoryTotal: 2 }], notes: '' } });
    ws.close();
  });
});

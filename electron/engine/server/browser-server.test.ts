import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Engine } from '../api/engine.js';
import { startBrowserServer, type BrowserServer } from './browser-server.js';
import { tempDir } from '../testing/corpus.js';

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

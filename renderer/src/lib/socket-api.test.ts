import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket as NodeWebSocket, WebSocketServer } from 'ws';
import { SocketApi } from './socket-api';

/**
 * The browser side of the socket against a server that answers as told: replies and events are checked
 * against the contract, and a reply that is not one ends its request instead of leaving it waiting.
 */
describe('the browser-mode socket', () => {
  let server: WebSocketServer;
  let api: SocketApi;
  /** What the server answers to each channel (the request's id filled in). */
  const replies: Record<string, (id: number) => unknown> = {
    'workspace.info': (id) => ({ id, ok: true, result: { path: '/w', documents: 1, chunks: 2, qaPairs: 0, embeddingModel: null, chunkTokens: 512, chunkOverlap: 64, ocr: 'auto' } }),
    'docs.list': (id) => ({ id, ok: false, error: { code: 'BUSY', message: 'busy', busyWith: 'pipeline' } }),
    'chat.history': (id) => ({ id, ok: false, error: { message: 'no code' } }),
    'eval.reports': (id) => ({ id, ok: true, result: [{ fileName: 3 }] }),
  };

  beforeAll(async () => {
    vi.stubGlobal('WebSocket', NodeWebSocket);
    server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    server.on('connection', (ws) => {
      ws.on('message', (data) => {
        const { id, channel } = JSON.parse(String(data)) as { id: number; channel: string };
        ws.send(JSON.stringify(replies[channel]!(id)));
        if (channel === 'workspace.info') {
          ws.send(JSON.stringify({ event: 'watch.changed', payload: 'not a list' }));
          ws.send(JSON.stringify({ event: 'watch.changed', payload: [] }));
        }
      });
    });
    api = new SocketApi(`ws://127.0.0.1:${(server.address() as { port: number }).port}/api`, 'token');
  });

  afterAll(() => {
    server.close();
    vi.unstubAllGlobals();
  });

  it('resolves a reply, rejects an error with its code, and fails a reply that is not one', async () => {
    const changed: unknown[] = [];
    api.on('watch.changed', (p) => changed.push(p));
    await expect(api.invoke('workspace.info', {})).resolves.toMatchObject({ path: '/w', documents: 1 });
    await expect(api.invoke('docs.list', {})).rejects.toMatchObject({ code: 'BUSY', busyWith: 'pipeline' });
    await expect(api.invoke('chat.history', {})).rejects.toMatchObject({ code: 'BAD_RESPONSE' });
    await expect(api.invoke('eval.reports', {})).rejects.toMatchObject({ code: 'BAD_RESPONSE', message: expect.stringMatching(/^eval\.reports: /) });
    // The event that does not follow the contract is dropped; the one that does arrives.
    expect(changed).toEqual([[]]);
  });
});

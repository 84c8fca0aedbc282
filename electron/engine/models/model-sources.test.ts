import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, TINY_MODEL } from '../testing/corpus.js';
import { discoverDownloaded, discoverLmStudio, discoverOllama, resolveLocalModel } from './discover.js';
import { downloadModel, downloadTarget } from './download.js';
import { GgmlType, type GgufValue } from './gguf/gguf-types.js';
import { gguf, writeGguf } from './gguf/gguf-writer.js';

const bytes = fs.readFileSync(TINY_MODEL);
const sha = createHash('sha256').update(bytes).digest('hex');

describe('model downloads (a local server with range support)', () => {
  let server: http.Server;
  let base = '';
  const ranges: (string | undefined)[] = [];
  let cutNext = false;
  let corruptCdn = false;
  /** The Authorization header of each request, by path. */
  const auth: [string, string | undefined][] = [];
  let port = 0;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      auth.push([req.url ?? '', req.headers.authorization]);
      // Hugging Face's way: the resolve URL answers 302 with the file's SHA-256 and size, the CDN has the bytes.
      if (req.url?.startsWith('/redirect/')) {
        res.writeHead(302, { location: `http://localhost:${port}/cdn/${req.url.slice('/redirect/'.length)}`, 'x-linked-etag': `"${sha}"`, 'x-linked-size': String(bytes.length) });
        return void res.end();
      }
      if (req.url?.startsWith('/cdn/')) {
        const body = corruptCdn ? Buffer.from(bytes).fill(7, 1000, 1100) : bytes;
        res.writeHead(200, { 'content-length': String(body.length) });
        return void res.end(body);
      }
      if (req.url?.startsWith('/endless/')) {
        // No length announced, and no end: the download must stop on its own.
        res.writeHead(200, { 'x-linked-size': String(bytes.length) });
        const chunk = Buffer.alloc(1 << 16, 1);
        const more = (): void => {
          while (res.write(chunk)) { /* until the socket pushes back */ }
        };
        res.on('drain', more);
        res.on('error', () => undefined);
        return more();
      }
      ranges.push(req.headers.range);
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const start = m ? Number(m[1]) : 0;
      const body = bytes.subarray(start);
      res.writeHead(m ? 206 : 200, { 'content-length': String(body.length), 'x-linked-etag': `"${sha}"`, ...(m ? { 'content-range': `bytes ${start}-${bytes.length - 1}/${bytes.length}` } : {}) });
      if (cutNext) {
        // Half the file, then the connection drops.
        cutNext = false;
        res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.destroy());
        return;
      }
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));

  it('maps hf: URIs to Hugging Face resolve URLs (HF_ENDPOINT respected)', () => {
    process.env.HF_ENDPOINT = base;
    expect(downloadTarget('hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q8_0.gguf')).toEqual({
      url: `${base}/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/qwen2.5-0.5b-instruct-q8_0.gguf`, fileName: 'qwen2.5-0.5b-instruct-q8_0.gguf',
    });
    expect(() => downloadTarget('hf:nonsense')).toThrow(/not hf:OWNER\/REPO\/FILE.gguf/);
    delete process.env.HF_ENDPOINT;
  });

  it('resumes after the connection is cut, with progress, and checks the SHA-256 the server reports', async () => {
    const dir = tempDir('download');
    cutNext = true;
    ranges.length = 0;
    const progress: number[] = [];
    process.env.HF_ENDPOINT = base;
    try {
      await expect(downloadModel('hf:test/tiny/stories.gguf', { dir })).rejects.toThrow(/run again to continue/);
      const part = fs.statSync(path.join(dir, 'stories.gguf.part')).size;
      expect(part).toBeGreaterThan(0);
      expect(part).toBeLessThan(bytes.length);
      const file = await downloadModel('hf:test/tiny/stories.gguf', { dir, onProgress: (p) => progress.push(p.received) });
      expect(ranges).toEqual([undefined, `bytes=${part}-`]);
      expect(progress[0]).toBeGreaterThan(part);
      expect(progress.at(-1)).toBe(bytes.length);
      expect(fs.readFileSync(file).equals(bytes)).toBe(true);
      expect(fs.existsSync(`${file}.part`)).toBe(false);
    } finally {
      delete process.env.HF_ENDPOINT;
    }
  });

  it('writes only inside the models folder: a file name that is a path is refused', async () => {
    const dir = tempDir('download-path');
    const outside = path.join(path.dirname(dir), 'a.sh');
    for (const url of [`${base}/x/..%2f..%2f..%2fa.sh`, `${base}/x/..%2F..%2Fa.sh`, `${base}/x/%2e%2e`, `${base}/x/a%5cb.gguf`, `${base}/x/`]) {
      await expect(downloadModel(url, { dir }), url).rejects.toThrow(/does not end in a plain file name/);
    }
    await expect(downloadModel('hf:test/tiny/../../a.gguf', { dir })).rejects.toThrow(/outside the repository/);
    expect(fs.existsSync(outside)).toBe(false);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('refuses plain http to another machine, and sends the token to the Hugging Face host only', async () => {
    await expect(downloadModel('http://example.com/model.gguf', { dir: tempDir('download-http') })).rejects.toThrow(/not https/);
    process.env.HF_ENDPOINT = base;
    auth.length = 0;
    try {
      // Hugging Face (here: its stand-in on this machine) gets the token; the CDN it redirects to does not.
      await downloadModel('hf:test/tiny/via-cdn.gguf', { dir: tempDir('download-token'), token: 'secret' });
      const direct = await downloadModel(`${base}/x/direct.gguf`, { dir: tempDir('download-token2'), token: 'secret' });
      expect(fs.existsSync(direct)).toBe(true);
      // Another host (the same server under another name) gets nothing.
      await downloadModel(`http://localhost:${port}/x/other.gguf`, { dir: tempDir('download-token3'), token: 'secret' });
    } finally {
      delete process.env.HF_ENDPOINT;
    }
    expect(auth).toEqual([
      ['/test/tiny/resolve/main/via-cdn.gguf', 'Bearer secret'],
      ['/x/direct.gguf', 'Bearer secret'],
      ['/x/other.gguf', undefined],
    ]);
  });

  it("checks the SHA-256 Hugging Face gives before redirecting, and keeps the token from the redirect's host", async () => {
    process.env.HF_ENDPOINT = `${base}/redirect`;
    auth.length = 0;
    try {
      const file = await downloadModel('hf:test/tiny/cdn.gguf', { dir: tempDir('download-redirect'), token: 'secret' });
      expect(fs.readFileSync(file).equals(bytes)).toBe(true);
      expect(auth).toEqual([['/redirect/test/tiny/resolve/main/cdn.gguf', 'Bearer secret'], ['/cdn/test/tiny/resolve/main/cdn.gguf', undefined]]);
      corruptCdn = true;
      const dir = tempDir('download-redirect-bad');
      await expect(downloadModel('hf:test/tiny/cdn.gguf', { dir })).rejects.toThrow(/checksum mismatch/);
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      corruptCdn = false;
      delete process.env.HF_ENDPOINT;
    }
  });

  it('stops a response that sends more than it announced, and leaves nothing behind', async () => {
    const dir = tempDir('download-endless');
    await expect(downloadModel(`${base}/endless/model.gguf`, { dir })).rejects.toThrow(/sent more than the \d+ bytes it announced/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('rejects a checksum mismatch and removes what it downloaded', async () => {
    const dir = tempDir('download-bad');
    await expect(downloadModel(`${base}/x/model.gguf`, { dir, sha256: '0'.repeat(64) })).rejects.toThrow(/checksum mismatch/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('models the user already has', () => {
  const root = tempDir('stores');

  it('finds Ollama models through their manifests, uses the blob in place, and skips broken entries', async () => {
    const store = path.join(root, 'ollama');
    const blob = path.join(store, 'blobs', `sha256-${sha}`);
    fs.mkdirSync(path.dirname(blob), { recursive: true });
    fs.copyFileSync(TINY_MODEL, blob);
    const manifest = (digest: string): string => JSON.stringify({ schemaVersion: 2, layers: [{ mediaType: 'application/vnd.ollama.image.model', digest }, { mediaType: 'application/vnd.ollama.image.template', digest: `sha256:${'1'.repeat(64)}` }] });
    const put = (rel: string, text: string): void => {
      const f = path.join(store, 'manifests', rel);
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.writeFileSync(f, text);
    };
    put('registry.ollama.ai/library/tiny/latest', manifest(`sha256:${sha}`));
    put('registry.ollama.ai/someone/story/q8', manifest(`sha256:${sha}`));
    put('registry.ollama.ai/library/missing/latest', manifest(`sha256:${'2'.repeat(64)}`));
    put('registry.ollama.ai/library/broken/latest', '{not json');
    const found = await discoverOllama(store);
    expect(found.map((m) => [m.name, m.architecture])).toEqual([['someone/story:q8', 'llama'], ['tiny:latest', 'llama']]);
    expect(found[1]!.path).toBe(blob);
    expect(await resolveLocalModel('tiny', { ollama: store })).toBe(blob);
    expect(await resolveLocalModel('ollama:someone/story:q8', { ollama: store })).toBe(blob);
    await expect(resolveLocalModel('ollama:nope', { ollama: store })).rejects.toThrow(/has no nope:latest/);
    expect(await resolveLocalModel('./some/model.gguf', { ollama: store })).toBe(path.resolve('some/model.gguf'));
  });

  it('finds GGUF files in LM Studio\'s folder, leaving out projectors and non-GGUF files', async () => {
    const lm = path.join(root, 'lmstudio');
    const dir = path.join(lm, 'publisher', 'Tiny-GGUF');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(TINY_MODEL, path.join(dir, 'tiny-q8_0.gguf'));
    fs.copyFileSync(TINY_MODEL, path.join(dir, 'mmproj-tiny.gguf'));
    fs.writeFileSync(path.join(dir, 'fake.gguf'), 'not a model');
    const found = await discoverLmStudio([lm]);
    expect(found.map((m) => m.name)).toEqual(['publisher/Tiny-GGUF/tiny-q8_0.gguf']);
    expect(await resolveLocalModel('lmstudio:publisher/Tiny-GGUF/tiny-q8_0.gguf', { lmstudio: [lm] })).toBe(path.join(dir, 'tiny-q8_0.gguf'));
  });

  it('says of every model whether it can be trained, and why not: unsupported, mixture of experts, vision projector', async () => {
    const dir = tempDir('trainable');
    fs.copyFileSync(TINY_MODEL, path.join(dir, 'stories260K.gguf'));
    // Files with only the metadata trainability reads and one small tensor, as llama.cpp's converter names them.
    const tiny = (file: string, meta: [string, GgufValue][], tensor = 'token_embd.weight'): Promise<void> =>
      writeGguf(path.join(dir, file), { metadata: meta, tensors: [{ name: tensor, dims: [4, 2], type: GgmlType.F32, data: new Uint8Array(32) }] });
    await tiny('gpt2.gguf', [['general.architecture', gguf.str('gpt2')]]);
    await tiny('qwen3-moe.gguf', [['general.architecture', gguf.str('qwen3')], ['qwen3.expert_count', gguf.u32(8)]], 'blk.0.ffn_gate_exps.weight');
    await tiny('projector.gguf', [['general.architecture', gguf.str('clip')]], 'v.patch_embd.weight');
    await tiny('gemma3.gguf', [['general.architecture', gguf.str('gemma3')]]);
    fs.writeFileSync(path.join(dir, 'half.gguf.part'), 'unfinished');
    const found = await discoverDownloaded(dir);
    const byName = Object.fromEntries(found.map((m) => [m.name, m]));
    expect(Object.keys(byName)).toEqual(['gemma3.gguf', 'gpt2.gguf', 'projector.gguf', 'qwen3-moe.gguf', 'stories260K.gguf']);
    expect(byName['stories260K.gguf']).toMatchObject({ source: 'downloaded', architecture: 'llama', trainable: true });
    expect(byName['stories260K.gguf']).not.toHaveProperty('trainableReason');
    expect(byName['gemma3.gguf']).toMatchObject({ architecture: 'gemma3', trainable: true });
    expect(byName['gpt2.gguf']).toMatchObject({ trainable: false, trainableReason: expect.stringMatching(/^architecture "gpt2" cannot be trained \(DocTune trains llama, qwen2, qwen3, gemma3, phi3\)$/) });
    expect(byName['qwen3-moe.gguf']).toMatchObject({ architecture: 'qwen3', trainable: false, trainableReason: expect.stringMatching(/mixture-of-experts models \(8 experts\) cannot be trained/) });
    expect(byName['projector.gguf']).toMatchObject({ architecture: 'clip', trainable: false, trainableReason: expect.stringMatching(/vision projector \(mmproj\)/) });

    // The same verdicts for LM Studio's files (and Ollama's: the same check of each blob).
    const lm = path.join(root, 'lmstudio-verdicts');
    fs.mkdirSync(path.join(lm, 'someone', 'Mixed-GGUF'), { recursive: true });
    for (const f of ['gpt2.gguf', 'stories260K.gguf']) fs.copyFileSync(path.join(dir, f), path.join(lm, 'someone', 'Mixed-GGUF', f));
    expect((await discoverLmStudio([lm])).map((m) => [m.name, m.trainable, m.trainableReason ?? null])).toEqual([
      ['someone/Mixed-GGUF/gpt2.gguf', false, byName['gpt2.gguf']!.trainableReason],
      ['someone/Mixed-GGUF/stories260K.gguf', true, null],
    ]);
  });
});

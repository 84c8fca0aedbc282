/**
 * `doctune serve` as a user starts it: its defaults on a machine whose cores are busy (ggml's threads spin at
 * barriers, so one thread too many turns milliseconds into minutes), and the network without a key.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { CLI_ARGS } from '../testing/cli.js';
import { REPO_ROOT, tempDir, TINY_MODEL } from '../testing/corpus.js';


// A home of its own: `serve` logs to the user-data folder by default (Linux: XDG, macOS: HOME, Windows: APPDATA).
const home = tempDir('serve-home');
const HOME_ENV = { HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), APPDATA: path.join(home, 'AppData', 'Roaming') };

function startServe(args: string[]): Promise<{ child: ChildProcess; url: string; threads: number }> {
  const child = spawn(process.execPath, [...CLI_ARGS, 'serve', '--model', TINY_MODEL, '--port', '0', '--json', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...HOME_ENV } });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve({ child, ...(JSON.parse(line) as { url: string; threads: number }) });
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
}

describe('doctune serve from the command line', () => {
  it('with its defaults, beside a CPU-bound load: 32 requests at once get 200 or 429, in bounded time', async () => {
    // One core kept busy by another program for the whole test.
    const hog = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
    let serve: Awaited<ReturnType<typeof startServe>> | null = null;
    try {
      await new Promise((r) => setTimeout(r, 300));
      serve = await startServe([]);
      // The threads came from the free cores, not a fixed number.
      expect(serve.threads).toBeGreaterThanOrEqual(1);
      expect(serve.threads).toBeLessThanOrEqual(Math.max(1, os.availableParallelism() - 1));
      const client = new OpenAI({ baseURL: serve.url, apiKey: 'none', maxRetries: 0, timeout: 60_000 });
      const started = Date.now();
      const results = await Promise.allSettled(Array.from({ length: 32 }, (_, i) =>
        client.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: `Story ${i}` }], max_tokens: 16 })));
      const seconds = (Date.now() - started) / 1000;
      const statuses = results.map((r) => (r.status === 'fulfilled' ? 200 : ((r.reason as { status?: number }).status ?? 0)));
      console.log(`serve defaults beside a busy core: ${serve.threads} thread(s); 32 requests in ${seconds.toFixed(1)} s: ${statuses.filter((s) => s === 200).length} × 200, ${statuses.filter((s) => s === 429).length} × 429`);
      expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(2);
      expect(seconds).toBeLessThan(60);
    } finally {
      hog.kill();
      serve?.child.kill('SIGINT');
    }
    await new Promise((resolve) => serve!.child.once('exit', resolve));
    // The server kept its log in the user-data folder: started, each request's refusals, ended.
    const logs = fs.readdirSync(home, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('doctune-serve.log'));
    expect(logs).toHaveLength(1);
    const lines = fs.readFileSync(path.join(home, logs[0]!), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string; process: string });
    expect(lines[0]).toMatchObject({ msg: 'command started', process: 'cli serve' });
    expect(lines.at(-1)).toMatchObject({ msg: 'command ended' });
  });

  it('refuses a network address without an API key, unless told so by name', async () => {
    const refused = spawnSync(process.execPath, [...CLI_ARGS, 'serve', '--model', TINY_MODEL, '--host', '0.0.0.0', '--port', '0'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/--host 0\.0\.0\.0 serves other machines: give an API key with --api-key-env/);
    const serve = await startServe(['--host', '0.0.0.0', '--insecure-no-key']);
    try {
      expect(serve.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/v1$/);
    } finally {
      serve.child.kill('SIGINT');
    }
  });
});

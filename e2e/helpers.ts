import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { readGguf } from '../electron/engine/models/gguf/gguf-reader.js';
import { targetShape, writeLoraAdapter } from '../electron/engine/models/lora-adapter.js';
import { REPO_ROOT, TINY_MODEL } from '../electron/engine/testing/corpus.js';
import { randomF32, rng } from '../electron/engine/testing/random-model.js';

export const OUTPUT = path.join(REPO_ROOT, 'e2e', 'output');
fs.mkdirSync(OUTPUT, { recursive: true });

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
}

/** A page on `url` in a new browser, with every console error and uncaught exception collected. */
export async function openPage(url: string, height: number): Promise<{ browser: Browser; page: Page; consoleErrors: string[] }> {
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height }, locale: 'en-US' });
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  await page.goto(url);
  return { browser, page, consoleErrors };
}

export interface UiServer {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** `doctune ui` exactly as a user runs it (the built CLI), on a free port; `env` adds to the environment. */
export async function startUi(workspace: string, env: Record<string, string> = {}): Promise<UiServer> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'doctune.js'), 'ui', '--port', '0', '--workspace', workspace], {
    cwd: REPO_ROOT,
    // The log beside the workspace, not in the user's folder.
    env: { ...process.env, GGML_NO_BACKTRACE: '1', DOCTUNE_LOG_FILE: `${workspace}-logs/doctune.log`, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`doctune ui did not start: ${stderr}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /Open: (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`doctune ui exited with ${code}: ${stderr}`)));
  });
  return {
    url,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * A training run's output as the chat page and the evaluation find it: a random LoRA adapter for the tiny
 * model in `runDir`, and run.json naming its base model, the held-out conversations and the example counts
 * (null: none recorded).
 */
export async function writeAdapterRun(
  runDir: string,
  heldOut: [question: string, answer: string][],
  examples: { train: number; eval: number } | null = { train: 3, eval: 1 },
  { targets = ['blk.0.attn_q.weight', 'blk.2.ffn_up.weight'], seed = 11 }: { targets?: string[]; seed?: number } = {},
): Promise<string> {
  const base = await readGguf(TINY_MODEL);
  const next = rng(seed);
  const pairs = targets.map((target) => {
    const { nIn, nOut } = targetShape(base, target);
    return { target, a: randomF32(nIn * 8, 0.3, next), b: randomF32(8 * nOut, 0.3, next) };
  });
  fs.mkdirSync(runDir, { recursive: true });
  const adapter = path.join(runDir, `adapter-${path.basename(runDir)}.gguf`);
  await writeLoraAdapter(adapter, base, { rank: 8, alpha: 16, pairs });
  fs.writeFileSync(
    path.join(runDir, 'run.json'),
    JSON.stringify({
      adapter,
      base_model: { path: TINY_MODEL },
      finished_at: new Date().toISOString(),
      // A run from before example counts were recorded has none.
      ...(examples ? { examples } : {}),
      held_out: heldOut.map(([q, a]) => [{ role: 'user', content: q }, { role: 'assistant', content: a }]),
    }),
  );
  return adapter;
}

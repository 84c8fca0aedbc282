import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { corpusFile, tempDir, TINY_MODEL } from '../electron/engine/testing/corpus.js';
import { browserFixture, type BrowserFixture } from './browser-fixture.js';
import { OUTPUT } from './helpers.js';

/**
 * A first run in browser mode: no model anywhere (a fresh home folder), the recommended model offered and
 * downloaded (from a local stand-in for Hugging Face that serves the tiny test model), then the "New adapter"
 * wizard from one document to a tested adapter, and the adapter opened in the chat.
 */
/** A UI of its own in a fresh home folder (no model anywhere), and a local stand-in for Hugging Face serving the tiny model. */
async function firstRunFixture(name: string): Promise<{ fx: BrowserFixture; home: string; close(): Promise<void> }> {
  const body = fs.readFileSync(TINY_MODEL);
  const hf = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((resolve) => hf.listen(0, '127.0.0.1', resolve));
  const home = tempDir(`e2e-home-${name}`);
  const fx = await browserFixture(path.join(tempDir(`e2e-wizard-ws-${name}`), 'ws'), 900, {
    HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), OLLAMA_MODELS: path.join(home, 'ollama'),
    HF_ENDPOINT: `http://127.0.0.1:${(hf.address() as AddressInfo).port}`,
  });
  await fx.home();
  return {
    fx, home,
    async close() {
      await fx.close();
      await new Promise((resolve) => hf.close(resolve));
    },
  };
}

/** Each test has its own home folder, workspace, server and page: either runs alone, or in any order. */
describe('browser mode: first run and the New adapter wizard', () => {
  let made: Awaited<ReturnType<typeof firstRunFixture>> | null = null;
  afterEach(async () => {
    const errors = made?.fx.takeErrors() ?? [];
    await made?.close();
    made = null;
    expect(errors).toEqual([]);
  });

  it('offers the recommended model for this machine and downloads it', async () => {
    made = await firstRunFixture('download');
    const { fx: { page }, home } = made;
    const banner = page.getByTestId('first-run');
    await banner.waitFor({ timeout: 60_000 });
    expect(await banner.innerText()).toMatch(/Recommended for this computer: .+ \(\d+(\.\d)? GiB, trains on the (CPU|GPU), licence .+\)/);
    await page.screenshot({ path: path.join(OUTPUT, '20-first-run.png') });
    await page.getByTestId('first-run-download').click();
    // Once downloaded the model is checked and chosen, and the offer goes away.
    await banner.waitFor({ state: 'detached', timeout: 60_000 });
    const downloaded = fs.readdirSync(path.join(home, '.config', 'DocTune', 'models')).filter((f) => f.endsWith('.gguf'));
    expect(downloaded).toHaveLength(1);
    // It is the chat's model too, until the user picks another.
    await page.getByTestId('nav-chat').click();
    await expect.poll(async () => page.getByTestId('chat-model').inputValue()).toBe(path.join(home, '.config', 'DocTune', 'models', downloaded[0]!));
  });

  it('makes an adapter from one document with the wizard, stage by stage, then opens each stage for review', async () => {
    made = await firstRunFixture('wizard');
    const { fx: { page } } = made;
    await page.getByTestId('nav-wizard').click();
    await page.getByTestId('wizard-page').waitFor();
    await page.getByTestId('wizard-page').getByTestId('file-input').setInputFiles(corpusFile('osha_factsheet_lockout_tagout.pdf'));
    const next = page.getByTestId('wizard-next');
    await expect.poll(async () => next.isEnabled(), { timeout: 120_000 }).toBe(true);
    await next.click();
    // The model by its path, checked by the engine: a missing file is refused, the tiny model taken.
    await page.getByTestId('model-path').fill('/nonexistent/model.gguf');
    await page.getByTestId('model-path-use').click();
    await page.getByTestId('model-problem').waitFor();
    await page.getByTestId('model-path').fill(TINY_MODEL);
    await page.getByTestId('model-path-use').click();
    await expect.poll(async () => page.getByTestId('wizard-model').innerText()).toContain('stories260K.gguf');
    expect(await page.getByTestId('wizard-model').getAttribute('data-trainable')).toBe('true');
    await page.screenshot({ path: path.join(OUTPUT, '21-wizard-model.png') });
    await next.click();
    await page.getByTestId('wizard-teacher-extractive').check();
    await page.getByTestId('wizard-epochs').fill('2');
    await page.getByTestId('wizard-device').selectOption('cpu');
    await next.click();
    await page.getByTestId('wizard-start').click();

    const result = page.getByTestId('pipeline-result');
    await result.waitFor({ timeout: 280_000 });
    const stages = await page.getByTestId('pipeline-stage').evaluateAll((all) => all.map((s) => `${s.getAttribute('data-stage')}:${s.getAttribute('data-status')}`));
    expect(stages).toEqual(['ingest:done', 'generate:done', 'accept:done', 'train:done', 'eval:done', 'export:done']);
    // What training did with the data: fitted to the model's sequence length by itself.
    expect(await page.getByTestId('pipeline-train-note').innerText()).toMatch(/[\d,]+ training examples of at most [\d,]+ tokens/);
    const variants = await page.getByTestId('pipeline-score').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-variant')));
    expect(variants).toEqual(['base', 'adapted', 'base_rag', 'adapted_rag']);
    await page.screenshot({ path: path.join(OUTPUT, '22-wizard-done.png'), fullPage: true });

    // Each stage opened for review. The chat takes the wizard's model and its new adapter, however it is reached.
    await page.getByTestId('nav-chat').click();
    await page.getByTestId('chat-page').waitFor();
    await expect.poll(async () => page.getByTestId('chat-model').inputValue()).toBe(TINY_MODEL);
    expect(await page.getByTestId('chat-adapter').inputValue()).toMatch(/pipeline-.*adapter.*\.gguf$/);
    await page.getByTestId('nav-wizard').click();
    await page.getByTestId('pipeline-open-chat').click();
    await page.getByTestId('chat-page').waitFor();
    await expect.poll(async () => page.getByTestId('chat-model').inputValue()).toBe(TINY_MODEL);
    expect(await page.getByTestId('chat-adapter').inputValue()).toMatch(/pipeline-.*adapter.*\.gguf$/);
    await page.getByTestId('nav-wizard').click();
    await page.getByTestId('pipeline-open-report').click();
    await page.getByTestId('chat-tab-evaluation').click();
    await page.frameLocator('[data-testid="eval-report-frame"]').locator('svg').first().waitFor({ timeout: 30_000 });
    await page.getByTestId('nav-dataset').click();
    await expect.poll(async () => page.getByTestId('qa-row').count(), { timeout: 30_000 }).toBeGreaterThan(0);
  });
});

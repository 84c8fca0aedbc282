import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORPUS, tempDir } from '../electron/engine/testing/corpus.js';
import { launchChromium, OUTPUT, startUi, type UiServer } from './helpers.js';

const CORPUS_FILES = fs.readdirSync(CORPUS).filter((f) => !f.startsWith('.')).length;

describe('browser mode: import the corpus, search, switch to Chinese', () => {
  let server: UiServer;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    server = await startUi(tempDir('e2e-ws'));
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 860 }, locale: 'en-US' });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await page.goto(server.url);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('imports the whole corpus folder through the UI and shows progress to completion', async () => {
    await page.getByTestId('dropzone').waitFor();
    await page.screenshot({ path: path.join(OUTPUT, '01-empty.png') });
    await page.getByTestId('folder-input').setInputFiles(CORPUS);
    const overall = page.getByTestId('overall-progress');
    await expect.poll(async () => overall.getAttribute('data-state'), { timeout: 180_000, interval: 500 }).toBe('finished');
    const done = Number(await overall.getAttribute('data-done'));
    const total = Number(await overall.getAttribute('data-total'));
    // The corpus README is folder metadata: skipped, as on the desktop.
    expect(total).toBe(CORPUS_FILES - 1);
    expect(done).toBe(total);
    const stages = await page.getByTestId('file-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-stage')));
    expect(stages.filter((s) => s === 'error')).toEqual([]);
    await expect.poll(async () => page.getByTestId('doc-row').count(), { timeout: 30_000 }).toBe(10);
    await page.screenshot({ path: path.join(OUTPUT, '02-imported.png'), fullPage: true });
  });

  it('shows a document\'s chunks with page and heading', async () => {
    await page.getByTestId('doc-filter').fill('lockout_tagout');
    await expect.poll(async () => page.getByTestId('doc-row').count()).toBe(2);
    await page.getByTestId('doc-row').filter({ hasText: 'osha3120' }).click();
    const chunk = page.getByTestId('chunk').first();
    await chunk.waitFor();
    expect(await page.getByTestId('chunk').count()).toBeGreaterThan(40);
    const withPage = page.getByTestId('chunk').filter({ hasText: 'continuity of lockout or tagout protection' });
    expect(await withPage.getByTestId('chunk-page').innerText()).toMatch(/22/);
    expect(await withPage.getByTestId('chunk-heading').innerText()).toMatch(/shift changes/);
    await page.getByTestId('doc-filter').fill('');
  });

  it('finds lockout/tagout passages with their page, highlighted', async () => {
    await page.getByTestId('search-input').fill('continuity of lockout or tagout protection');
    await page.getByTestId('search-input').press('Enter');
    const hit = page.getByTestId('search-hit').first();
    await hit.waitFor({ timeout: 30_000 });
    expect(await hit.getByTestId('hit-page').innerText()).toMatch(/22/);
    expect(await hit.getByTestId('hit-heading').innerText()).toMatch(/shift changes/);
    expect(await hit.locator('mark').count()).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(OUTPUT, '03-search.png'), fullPage: true });
  });

  it('switches the whole UI to Simplified Chinese and searches in Chinese', async () => {
    const before = await page.getByTestId('search-submit').innerText();
    await page.getByTestId('lang-switch').selectOption('zh-CN');
    await expect.poll(async () => page.getByTestId('search-submit').innerText()).not.toBe(before);
    expect(await page.getByTestId('search-submit').innerText()).toMatch(/[\u4e00-\u9fff]/);
    expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');
    await page.getByTestId('search-input').fill('治安管理');
    await page.getByTestId('search-submit').click();
    const hit = page.getByTestId('search-hit').first();
    await expect.poll(async () => hit.getByTestId('hit-title').innerText(), { timeout: 30_000 }).toContain('治安管理处罚法');
    await page.screenshot({ path: path.join(OUTPUT, '04-zh-CN.png'), fullPage: true });
  });

  it('follows the system\'s dark theme', async () => {
    const light = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    expect(dark).not.toBe(light);
    // Let the theme's colour transitions finish before the picture.
    await page.waitForTimeout(400);
    await page.screenshot({ path: path.join(OUTPUT, '05-dark.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('lists the compute devices training can use, the CPU among them', async () => {
    await page.getByTestId('devices-open').click();
    const panel = page.getByTestId('devices-panel');
    await panel.waitFor();
    // The first opening probes the devices in the training process.
    await panel.getByTestId('device-row').first().waitFor({ timeout: 60_000 });
    expect(await panel.getByTestId('device-backend').allInnerTexts()).toContain('CPU');
    const cpu = panel.locator('[data-testid="device-row"][data-backend="CPU"]');
    expect(await cpu.getByTestId('device-memory').first().innerText()).toMatch(/\d[.,]\d.*\/.*\d[.,]\d/);
    await page.screenshot({ path: path.join(OUTPUT, '06-devices.png'), fullPage: true });
    await panel.getByTestId('devices-refresh').click();
    await expect.poll(async () => panel.getByTestId('devices-refresh').isEnabled(), { timeout: 60_000 }).toBe(true);
    expect(await panel.getByTestId('device-backend').allInnerTexts()).toContain('CPU');
    await panel.getByTestId('devices-close').click();
    await panel.waitFor({ state: 'detached' });
  });

  it('logged no errors in the page', () => {
    expect(consoleErrors).toEqual([]);
  });
});

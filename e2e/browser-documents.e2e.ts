import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CORPUS, tempDir } from '../electron/engine/testing/corpus.js';
import { typesetPng } from '../electron/engine/testing/typeset.js';
import { browserFixture, seededWorkspace, type BrowserFixture } from './browser-fixture.js';
import { OUTPUT } from './helpers.js';

const CORPUS_FILES = fs.readdirSync(CORPUS).filter((f) => !f.startsWith('.')).length;
/** Waiting for the engine to answer a list or a write (it may be busy with passages asked for meanwhile). */
const LIST_WAIT = { timeout: 30_000, interval: 200 };

describe('browser mode: a folder imported through the UI', () => {
  let fx: BrowserFixture;
  beforeAll(async () => {
    fx = await browserFixture(path.join(tempDir('e2e-import'), 'ws'));
  });
  afterAll(() => fx?.close());
  afterEach(() => expect(fx.takeErrors()).toEqual([]));

  it('imports the whole corpus folder and shows progress to completion', async () => {
    const { page } = fx;
    await fx.home();
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
});

describe('browser mode: documents, search, languages, devices and OCR', () => {
  let fx: BrowserFixture;
  beforeAll(async () => {
    fx = await browserFixture(await seededWorkspace('documents'));
  });
  afterAll(() => fx?.close());
  afterEach(() => expect(fx.takeErrors()).toEqual([]));

  it('shows a document\'s chunks with page and heading', async () => {
    const { page } = fx;
    await fx.home();
    await page.getByTestId('doc-filter').fill('lockout_tagout');
    await expect.poll(async () => page.getByTestId('doc-row').count(), LIST_WAIT).toBe(2);
    // The booklet, titled by its cover (its metadata title is a publication code).
    await page.getByTestId('doc-row').filter({ hasText: 'Control of Hazardous Energy' }).click();
    const chunk = page.getByTestId('chunk').first();
    await chunk.waitFor();
    expect(await page.getByTestId('chunk').count()).toBeGreaterThan(40);
    const withPage = page.getByTestId('chunk').filter({ hasText: 'continuity of lockout or tagout protection' });
    expect(await withPage.getByTestId('chunk-page').innerText()).toMatch(/22/);
    expect(await withPage.getByTestId('chunk-heading').innerText()).toMatch(/shift changes/);
  });

  it('finds lockout/tagout passages with their page, highlighted', async () => {
    const { page } = fx;
    await fx.home();
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
    const { page } = fx;
    await fx.home();
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
    // The choice is remembered by the browser.
    await page.reload();
    await expect.poll(async () => page.locator('html').getAttribute('lang')).toBe('zh-CN');
  });

  it('follows the system\'s dark theme', async () => {
    const { page } = fx;
    await fx.home();
    const light = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    expect(dark).not.toBe(light);
    // Let the theme's colour transitions finish before the picture.
    await page.waitForTimeout(400);
    await page.screenshot({ path: path.join(OUTPUT, '05-dark.png'), fullPage: true });
  });

  it('lists the compute devices training can use, the CPU among them, and the log of the session', async () => {
    const { page, workspace } = fx;
    await fx.home();
    // Something for the log to record: a file imported in this session.
    const note = path.join(tempDir('e2e-note'), 'exit-note.md');
    fs.writeFileSync(note, '# Exit routes\n\nKeep every exit route clear of obstructions.\n');
    await page.getByTestId('file-input').setInputFiles(note);
    await expect.poll(async () => page.getByTestId('overall-progress').getAttribute('data-state'), { timeout: 60_000, interval: 200 }).toBe('finished');

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
    // The log's folder, for a support request: shown (a browser cannot open a folder on the DocTune machine),
    // and the log there records what this session did.
    const folder = `${workspace}-logs`;
    await expect.poll(async () => panel.getByTestId('logs-folder').innerText(), LIST_WAIT).toBe(folder);
    expect(await panel.getByTestId('logs-open').count()).toBe(0);
    const lines = fs.readFileSync(path.join(folder, 'doctune.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string; process: string; kind?: string });
    expect(lines[0]).toMatchObject({ msg: 'command started', process: 'cli ui' });
    expect(lines.some((l) => l.msg === 'job started' && l.kind === 'import')).toBe(true);
    await panel.getByTestId('devices-close').click();
    await panel.waitFor({ state: 'detached' });
  });

  it('reads a photographed notice by OCR in the language chosen, and marks its passages', async () => {
    const { page } = fx;
    await fx.home();
    await page.getByTestId('ocr-setting').selectOption('en');
    const photo = path.join(tempDir('e2e-ocr'), 'notice-photo.png');
    fs.writeFileSync(photo, typesetPng(['In case of fire, leave by the nearest exit.', 'Meet at the assembly point in the north car park.', 'Do not use the lifts.'], { font: 'sans-serif', size: 52, width: 1600, height: 390, left: 60, top: 20, lineHeight: 90 }));
    await page.getByTestId('file-input').setInputFiles(photo);
    const overall = page.getByTestId('overall-progress');
    await expect.poll(async () => overall.getAttribute('data-state'), { timeout: 120_000, interval: 500 }).toBe('finished');
    expect(await page.getByTestId('file-row').filter({ hasText: 'notice-photo.png' }).getAttribute('data-stage')).toBe('done');
    await page.getByTestId('doc-filter').fill('notice-photo');
    await expect.poll(async () => page.getByTestId('doc-row').count(), LIST_WAIT).toBe(1);
    await page.getByTestId('doc-row').first().click();
    const chunk = page.getByTestId('chunk').first();
    await chunk.getByTestId('chunk-ocr').waitFor();
    expect(await chunk.innerText()).toMatch(/assembly point/);
    await page.screenshot({ path: path.join(OUTPUT, '14-ocr.png') });
    // The setting is the workspace's: still there after a reload.
    await page.reload();
    await expect.poll(async () => page.getByTestId('ocr-setting').inputValue(), LIST_WAIT).toBe('en');
  });
});

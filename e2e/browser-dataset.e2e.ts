import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { browserFixture, seededWorkspace, type BrowserFixture } from './browser-fixture.js';
import { OUTPUT } from './helpers.js';

/** Waiting for the engine to answer a list or a write (it may be busy with passages asked for meanwhile). */
const LIST_WAIT = { timeout: 30_000, interval: 200 };

const count = async (page: Page, status: string): Promise<number> => Number(await page.getByTestId(`qa-count-${status}`).getAttribute('data-count'));

/** The training set page, all pairs listed (the first page of them). */
async function openDataset(page: Page): Promise<void> {
  await page.getByTestId('nav-dataset').click();
  await page.getByTestId('dataset-page').waitFor();
  await expect.poll(async () => page.getByTestId('qa-count-all').getAttribute('data-count'), LIST_WAIT).not.toBeNull();
}

/** Pending pairs, listed: the review tests start from these. */
async function showPending(page: Page): Promise<void> {
  await page.getByTestId('qa-count-pending').click();
  const pending = await count(page, 'pending');
  await expect.poll(async () => page.getByTestId('qa-row').count(), LIST_WAIT).toBe(Math.min(pending, 200));
}

describe('browser mode: a training set generated from the documents', () => {
  let fx: BrowserFixture;
  beforeAll(async () => {
    fx = await browserFixture(await seededWorkspace('generate'));
  });
  afterAll(() => fx?.close());
  afterEach(() => expect(fx.takeErrors()).toEqual([]));

  it('generates QA pairs with the extractive teacher set in the settings dialog', async () => {
    const { page } = fx;
    await fx.home();
    await openDataset(page);
    expect(await page.getByTestId('nav-dataset').getAttribute('aria-current')).toBe('page');
    expect(await count(page, 'pending')).toBe(0);

    await page.getByTestId('teacher-open').click();
    const dialog = page.getByTestId('teacher-dialog');
    await dialog.waitFor();
    await expect.poll(async () => dialog.getByTestId('teacher-save').isEnabled()).toBe(true);
    await dialog.getByTestId('teacher-kind').selectOption('api');
    await dialog.getByTestId('teacher-base-url').waitFor();
    await page.screenshot({ path: path.join(OUTPUT, '07-teacher.png') });
    await dialog.getByTestId('teacher-kind').selectOption('extractive');
    await dialog.getByTestId('teacher-questions').fill('2');
    await dialog.getByTestId('teacher-save').click();
    await dialog.waitFor({ state: 'detached' });
    expect(await page.getByTestId('teacher-summary').innerText()).toMatch(/\b2 questions/);

    await page.getByTestId('generate-start').click();
    const progress = page.getByTestId('generate-progress');
    await progress.waitFor();
    const summary = page.getByTestId('generate-summary');
    await summary.waitFor({ timeout: 240_000 });
    expect(await progress.getAttribute('data-state')).toBe('done');
    const pairs = Number(await summary.getAttribute('data-pairs'));
    expect(pairs).toBeGreaterThan(50);
    await expect.poll(async () => count(page, 'pending'), LIST_WAIT).toBe(pairs);
    await expect.poll(async () => page.getByTestId('qa-row').count(), LIST_WAIT).toBe(Math.min(pairs, 200));
    if (pairs > 200) expect(await page.getByTestId('qa-load-more').isVisible()).toBe(true);
  });
});

describe('browser mode: reviewing and exporting a training set', () => {
  let fx: BrowserFixture;
  beforeAll(async () => {
    fx = await browserFixture(await seededWorkspace('review', { pairs: true }));
  });
  afterAll(() => fx?.close());
  afterEach(() => expect(fx.takeErrors()).toEqual([]));

  it('reviews pairs: passage with its evidence, inline edit, keyboard accept, bulk accept, filter', async () => {
    const { page } = fx;
    await fx.home();
    await openDataset(page);
    await showPending(page);
    const rows = page.getByTestId('qa-row');
    const detail = page.getByTestId('qa-detail');
    const [accepted0, edited0] = [await count(page, 'accepted'), await count(page, 'edited')];

    // The first pending pair: its passage, with the cited sentence marked.
    const firstId = await rows.nth(0).getAttribute('data-pair-id');
    await rows.nth(0).click();
    const passage = page.locator(`[data-testid="qa-passage"][data-pair-id="${firstId}"]`);
    await passage.waitFor();
    const mark = passage.getByTestId('qa-evidence');
    await mark.waitFor();
    expect(await mark.evaluate((element) => element.tagName)).toBe('MARK');
    const squash = (text: string): string => text.replace(/\s+/g, '').toLowerCase();
    const evidence = (await detail.getAttribute('data-evidence')) ?? '';
    const marked = await mark.innerText();
    expect(marked.trim().length).toBeGreaterThan(5);
    expect(squash(evidence)).toContain(squash(marked));
    expect(await passage.getByTestId('qa-passage-title').innerText()).not.toBe('');

    // Edit its answer: it becomes edited.
    const answer = page.getByTestId('qa-answer-input');
    const edited = `${await answer.inputValue()} (checked by the reviewer)`;
    await answer.fill(edited);
    await page.getByTestId('qa-save').click();
    await expect.poll(async () => page.locator(`[data-testid="qa-row"][data-pair-id="${firstId}"]`).getAttribute('data-status'), LIST_WAIT).toBe('edited');
    await expect.poll(async () => count(page, 'edited')).toBe(edited0 + 1);
    expect(await answer.inputValue()).toBe(edited);
    await page.screenshot({ path: path.join(OUTPUT, '08-review.png') });

    // The next pair, accepted with the keyboard; the selection moves on.
    const secondId = await rows.nth(1).getAttribute('data-pair-id');
    await rows.nth(1).click();
    await expect.poll(async () => rows.nth(1).getAttribute('aria-selected')).toBe('true');
    await page.keyboard.press('a');
    await expect.poll(async () => count(page, 'accepted')).toBe(accepted0 + 1);
    expect(await page.locator(`[data-testid="qa-row"][data-pair-id="${secondId}"]`).getAttribute('data-status')).toBe('accepted');
    await expect.poll(async () => rows.nth(2).getAttribute('aria-selected')).toBe('true');
    await page.keyboard.press('j');
    await expect.poll(async () => rows.nth(3).getAttribute('aria-selected')).toBe('true');
    await page.keyboard.press('k');
    await expect.poll(async () => rows.nth(2).getAttribute('aria-selected')).toBe('true');

    // Three more, ticked and accepted together.
    const bulkIds: string[] = [];
    for (const index of [2, 3, 4]) {
      await rows.nth(index).getByTestId('qa-select').check();
      bulkIds.push((await rows.nth(index).getAttribute('data-pair-id')) ?? '');
    }
    await page.getByTestId('bulk-accept').click();
    await expect.poll(async () => count(page, 'accepted')).toBe(accepted0 + 4);
    expect(await page.getByTestId('bulk-accept').isDisabled()).toBe(true);
    const pending = await count(page, 'pending');

    // The accepted ones under the accepted filter, these among them.
    await page.getByTestId('qa-count-accepted').click();
    await expect.poll(async () => rows.count(), LIST_WAIT).toBe(accepted0 + 4);
    const statuses = await rows.evaluateAll((elements) => elements.map((element) => element.getAttribute('data-status')));
    expect(new Set(statuses)).toEqual(new Set(['accepted']));
    const ids = await rows.evaluateAll((elements) => elements.map((element) => element.getAttribute('data-pair-id')));
    expect(ids).toEqual(expect.arrayContaining([secondId, ...bulkIds]));
    expect(await count(page, 'pending')).toBe(pending);
  });

  it('exports the accepted and edited pairs as OpenAI messages and downloads the file', async () => {
    const { page, server } = fx;
    await fx.home();
    await openDataset(page);
    await showPending(page);
    // Pairs of its own to export: one reworded, two accepted.
    const rows = page.getByTestId('qa-row');
    await rows.nth(0).click();
    const marker = `(exported as reviewed ${Date.now()})`;
    const answer = page.getByTestId('qa-answer-input');
    await answer.fill(`${await answer.inputValue()} ${marker}`);
    await page.getByTestId('qa-save').click();
    await expect.poll(async () => rows.nth(0).getAttribute('data-status'), LIST_WAIT).toBe('edited');
    for (const index of [1, 2]) await rows.nth(index).getByTestId('qa-select').check();
    await page.getByTestId('bulk-accept').click();
    await expect.poll(async () => page.getByTestId('bulk-accept').isDisabled(), LIST_WAIT).toBe(true);
    const expected = (await count(page, 'accepted')) + (await count(page, 'edited'));

    await page.getByTestId('export-open').click();
    const dialog = page.getByTestId('export-dialog');
    await dialog.waitFor();
    await dialog.getByTestId('export-format').selectOption('messages');
    await dialog.getByTestId('export-run').click();
    const result = dialog.getByTestId('export-result');
    await result.waitFor({ timeout: 60_000 });
    const exported = Number(await result.getAttribute('data-count'));
    expect(exported).toBe(expected);
    expect(await dialog.getByTestId('export-path').innerText()).toMatch(/\.jsonl$/);
    const href = await dialog.getByTestId('export-download').getAttribute('href');
    expect(href).toMatch(/^\/export\/[\w.-]+\.jsonl\?token=/);
    const response = await page.request.get(new URL(href ?? '', server.url).toString());
    expect(response.status()).toBe(200);
    const lines = (await response.text()).split('\n').filter((line) => line.trim() !== '');
    expect(lines).toHaveLength(exported);
    for (const line of lines) expect(JSON.parse(line)).toHaveProperty('messages');
    expect(lines.filter((line) => line.includes(marker))).toHaveLength(1);
    await dialog.getByTestId('export-close').click();
    await dialog.waitFor({ state: 'detached' });
  });

  it('keeps the documents page as it was while the training set is open, and shows the review in Chinese', async () => {
    const { page } = fx;
    await fx.home();
    // Left half-done on the documents page, to be found again on the way back.
    await page.getByTestId('search-input').fill('治安管理');
    await page.getByTestId('search-submit').click();
    await page.getByTestId('search-hit').first().waitFor({ timeout: 30_000 });
    await page.getByTestId('doc-filter').fill('osha3120');
    await expect.poll(async () => page.getByTestId('doc-row').count(), LIST_WAIT).toBe(1);
    await page.getByTestId('doc-row').first().click();
    await page.getByTestId('chunk').first().waitFor();
    await openDataset(page);
    await page.getByTestId('nav-documents').click();
    await page.getByTestId('dropzone').waitFor();
    expect(await page.getByTestId('search-hit').count()).toBeGreaterThan(0);
    expect(await page.getByTestId('search-input').inputValue()).toBe('治安管理');
    expect(await page.getByTestId('doc-filter').inputValue()).toBe('osha3120');
    expect(await page.getByTestId('chunk').count()).toBeGreaterThan(40);

    await openDataset(page);
    await page.getByTestId('qa-count-all').click();
    const rows = page.getByTestId('qa-row');
    const all = await count(page, 'all');
    await expect.poll(async () => rows.count(), LIST_WAIT).toBe(Math.min(all, 200));
    const id = await rows.nth(2).getAttribute('data-pair-id');
    await rows.nth(2).click();
    await page.locator(`[data-testid="qa-passage"][data-pair-id="${id}"]`).getByTestId('qa-evidence').waitFor();
    await page.getByTestId('lang-switch').selectOption('zh-CN');
    await expect.poll(async () => page.getByTestId('nav-dataset').innerText()).toContain('训练数据');
    expect(await page.getByTestId('qa-status').first().innerText()).toMatch(/[\u4e00-\u9fff]/);
    await page.screenshot({ path: path.join(OUTPUT, '09-review-zh-CN.png') });
  });
});

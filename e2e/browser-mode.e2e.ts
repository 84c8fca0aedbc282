import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORPUS, tempDir, TINY_MODEL } from '../electron/engine/testing/corpus.js';
import { typesetPng } from '../electron/engine/testing/typeset.js';
import { OUTPUT, openPage, startUi, writeAdapterRun, type UiServer } from './helpers.js';

const CORPUS_FILES = fs.readdirSync(CORPUS).filter((f) => !f.startsWith('.')).length;
/** Waiting for the engine to answer a list or a write (it may be busy with passages asked for meanwhile). */
const LIST_WAIT = { timeout: 30_000, interval: 200 };
/** Waiting for the tiny model's answers (its worker processes start on the first question). */
const ANSWER_WAIT = { timeout: 120_000, interval: 250 };
const QUESTION = 'What is lockout/tagout?';

/** What the chat answers showed while the page ran: side, state and length of the text, at every change. */
interface AnswerTrace {
  side: string;
  state: string;
  length: number;
}

async function traceAnswers(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { answerTrace: AnswerTrace[]; stopSeen: boolean; traceObserver?: MutationObserver };
    w.traceObserver?.disconnect();
    w.answerTrace = [];
    w.stopSeen = false;
    const record = (): void => {
      document.querySelectorAll('[data-testid="chat-turn"]:last-child [data-testid="chat-answer"]').forEach((answer) => {
        const text = answer.querySelector('[data-testid="chat-answer-text"]')?.textContent ?? '';
        w.answerTrace.push({ side: answer.getAttribute('data-side') ?? '', state: answer.getAttribute('data-state') ?? '', length: text.length });
      });
      if (document.querySelector('[data-testid="chat-stop"]')) w.stopSeen = true;
    };
    w.traceObserver = new MutationObserver(record);
    w.traceObserver.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['data-state'] });
  });
}

async function answerTrace(page: Page): Promise<{ trace: AnswerTrace[]; stopSeen: boolean }> {
  return page.evaluate(() => {
    const w = window as unknown as { answerTrace: AnswerTrace[]; stopSeen: boolean };
    return { trace: w.answerTrace, stopSeen: w.stopSeen };
  });
}

describe('browser mode: import the corpus, search, switch to Chinese, review and export a training set, chat and evaluate', () => {
  let server: UiServer;
  let workspace: string;
  let browser: Browser;
  let page: Page;
  let consoleErrors: string[] = [];

  beforeAll(async () => {
    workspace = tempDir('e2e-ws');
    server = await startUi(workspace);
    ({ browser, page, consoleErrors } = await openPage(server.url, 860));
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
    // The booklet, titled by its cover (its metadata title is a publication code).
    await page.getByTestId('doc-row').filter({ hasText: 'Control of Hazardous Energy' }).click();
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
    // The log's folder, for a support request: shown (a browser cannot open a folder on the DocTune machine),
    // and the log there records what this session did.
    const folder = path.join(`${workspace}-logs`);
    await expect.poll(async () => panel.getByTestId('logs-folder').innerText(), LIST_WAIT).toBe(folder);
    expect(await panel.getByTestId('logs-open').count()).toBe(0);
    const lines = fs.readFileSync(path.join(folder, 'doctune.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string; process: string });
    expect(lines[0]).toMatchObject({ msg: 'command started', process: 'cli ui' });
    expect(lines.some((l) => l.msg === 'job started')).toBe(true);
    await panel.getByTestId('devices-close').click();
    await panel.waitFor({ state: 'detached' });
  });

  it('generates a training set with the extractive teacher set in the settings dialog', async () => {
    // The Chinese step above left the UI in Chinese; the review is checked and pictured in English, then in Chinese.
    await page.getByTestId('lang-switch').selectOption('en');
    // Left half-done on the documents page, to be found again on the way back.
    await page.getByTestId('doc-filter').fill('osha');
    await page.getByTestId('nav-dataset').click();
    await page.getByTestId('dataset-page').waitFor();
    expect(await page.getByTestId('nav-dataset').getAttribute('aria-current')).toBe('page');
    expect(await page.getByTestId('qa-count-pending').getAttribute('data-count')).toBe('0');

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
    await expect.poll(async () => Number(await page.getByTestId('qa-count-pending').getAttribute('data-count')), LIST_WAIT).toBe(pairs);
    await expect.poll(async () => page.getByTestId('qa-row').count(), LIST_WAIT).toBe(Math.min(pairs, 200));
    if (pairs > 200) expect(await page.getByTestId('qa-load-more').isVisible()).toBe(true);
  });

  it('reviews pairs: passage with its evidence, inline edit, keyboard accept, bulk accept, filter', async () => {
    const rows = page.getByTestId('qa-row');
    const detail = page.getByTestId('qa-detail');
    const count = async (status: string): Promise<number> => Number(await page.getByTestId(`qa-count-${status}`).getAttribute('data-count'));

    // The first pair: its passage, with the cited sentence marked.
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
    await expect.poll(async () => rows.nth(0).getAttribute('data-status'), LIST_WAIT).toBe('edited');
    await expect.poll(async () => count('edited')).toBe(1);
    expect(await answer.inputValue()).toBe(edited);
    await page.screenshot({ path: path.join(OUTPUT, '08-review.png') });

    // The next pair, accepted with the keyboard; the selection moves on.
    const secondId = await rows.nth(1).getAttribute('data-pair-id');
    await rows.nth(1).click();
    await expect.poll(async () => rows.nth(1).getAttribute('aria-selected')).toBe('true');
    await page.keyboard.press('a');
    await expect.poll(async () => count('accepted')).toBe(1);
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
    await expect.poll(async () => count('accepted')).toBe(4);
    expect(await page.getByTestId('bulk-accept').isDisabled()).toBe(true);
    const pending = await count('pending');

    // Only the accepted ones under the accepted filter.
    await page.getByTestId('qa-count-accepted').click();
    await expect.poll(async () => rows.count(), LIST_WAIT).toBe(4);
    const statuses = await rows.evaluateAll((elements) => elements.map((element) => element.getAttribute('data-status')));
    expect(statuses).toEqual(['accepted', 'accepted', 'accepted', 'accepted']);
    const ids = await rows.evaluateAll((elements) => elements.map((element) => element.getAttribute('data-pair-id')));
    expect(ids.sort()).toEqual([secondId, ...bulkIds].sort());
    expect(await count('pending')).toBe(pending);
  });

  it('exports the accepted pairs as OpenAI messages and downloads the file', async () => {
    await page.getByTestId('export-open').click();
    const dialog = page.getByTestId('export-dialog');
    await dialog.waitFor();
    await dialog.getByTestId('export-format').selectOption('messages');
    await dialog.getByTestId('export-run').click();
    const result = dialog.getByTestId('export-result');
    await result.waitFor({ timeout: 60_000 });
    // Accepted and edited pairs: 4 + 1.
    const exported = Number(await result.getAttribute('data-count'));
    expect(exported).toBe(5);
    expect(await dialog.getByTestId('export-path').innerText()).toMatch(/\.jsonl$/);
    const href = await dialog.getByTestId('export-download').getAttribute('href');
    expect(href).toMatch(/^\/export\/[\w.-]+\.jsonl\?token=/);
    const response = await page.request.get(new URL(href ?? '', server.url).toString());
    expect(response.status()).toBe(200);
    const lines = (await response.text()).split('\n').filter((line) => line.trim() !== '');
    expect(lines).toHaveLength(exported);
    for (const line of lines) expect(JSON.parse(line)).toHaveProperty('messages');
    expect(lines.some((line) => line.includes('(checked by the reviewer)'))).toBe(true);
    await dialog.getByTestId('export-close').click();
    await dialog.waitFor({ state: 'detached' });
  });

  it('keeps the documents page as it was, and shows the review in Chinese', async () => {
    await page.getByTestId('nav-documents').click();
    await page.getByTestId('dropzone').waitFor();
    expect(await page.getByTestId('search-hit').count()).toBeGreaterThan(0);
    expect(await page.getByTestId('search-input').inputValue()).toBe('治安管理');
    expect(await page.getByTestId('doc-filter').inputValue()).toBe('osha');
    expect(await page.getByTestId('chunk').count()).toBeGreaterThan(40);
    await page.getByTestId('doc-filter').fill('');
    await page.getByTestId('nav-dataset').click();
    await page.getByTestId('qa-count-all').click();
    const rows = page.getByTestId('qa-row');
    const all = Number(await page.getByTestId('qa-count-all').getAttribute('data-count'));
    await expect.poll(async () => rows.count(), LIST_WAIT).toBe(Math.min(all, 200));
    const id = await rows.nth(2).getAttribute('data-pair-id');
    await rows.nth(2).click();
    await page.locator(`[data-testid="qa-passage"][data-pair-id="${id}"]`).getByTestId('qa-evidence').waitFor();
    await page.getByTestId('lang-switch').selectOption('zh-CN');
    await expect.poll(async () => page.getByTestId('nav-dataset').innerText()).toContain('训练数据');
    expect(await page.getByTestId('qa-status').first().innerText()).toMatch(/[\u4e00-\u9fff]/);
    await page.screenshot({ path: path.join(OUTPUT, '09-review-zh-CN.png') });
  });

  it('chats with the adapted and the base model side by side, with retrieval and its citations', async () => {
    const adapter = await writeAdapterRun(path.join(workspace, 'runs', 'e2e'),
      [[QUESTION, 'Lockout/tagout keeps machines from starting up while they are serviced.']], null,
      { targets: ['blk.0.attn_q.weight', 'blk.2.ffn_up.weight', 'blk.4.attn_v.weight'], seed: 7 });
    await page.getByTestId('lang-switch').selectOption('en');
    await page.getByTestId('nav-chat').click();
    await page.getByTestId('chat-page').waitFor();
    expect(await page.getByTestId('nav-chat').getAttribute('aria-current')).toBe('page');

    // The model by its path, then the run's adapter, which sets the model to the run's base model.
    const model = page.getByTestId('chat-model');
    await model.fill(TINY_MODEL);
    await model.blur();
    await expect.poll(async () => page.locator(`[data-testid="chat-adapter"] option[value="${adapter}"]`).count(), LIST_WAIT).toBe(1);
    await page.getByTestId('chat-adapter').selectOption(adapter);
    expect(await model.inputValue()).toBe(TINY_MODEL);
    expect(await page.getByTestId('chat-scale').isEnabled()).toBe(true);
    await page.getByTestId('chat-compare').check();
    await page.getByTestId('chat-rag').check();
    await page.getByTestId('chat-sampling').click();
    await page.getByTestId('chat-temperature').fill('0');
    await page.getByTestId('chat-temperature').blur();
    await page.getByTestId('chat-max-tokens').fill('24');
    await page.getByTestId('chat-max-tokens').blur();
    await expect.poll(async () => page.getByTestId('chat-sampling').innerText()).toMatch(/temperature 0 .*up to 24 tokens/);

    // With retrieval: three passages cited under each answer.
    await traceAnswers(page);
    await page.getByTestId('chat-input').fill(QUESTION);
    await page.getByTestId('chat-send').click();
    const answers = page.locator('[data-testid="chat-turn"]').last().getByTestId('chat-answer');
    await expect.poll(async () => answers.evaluateAll((all) => all.map((a) => a.getAttribute('data-side'))), LIST_WAIT).toEqual(['base', 'adapted']);
    await expect
      .poll(async () => answers.evaluateAll((all) => all.every((a) => ['done', 'failed'].includes(a.getAttribute('data-state') ?? ''))), ANSWER_WAIT)
      .toBe(true);
    expect((await answerTrace(page)).stopSeen).toBe(true);
    for (const answer of await answers.all()) {
      // The tiny model's context may be too small for three passages: then that side says why.
      if ((await answer.getAttribute('data-state')) === 'failed') expect(await answer.getByTestId('chat-error').innerText()).toMatch(/\S/);
      else expect((await answer.getByTestId('chat-answer-text').innerText()).trim()).not.toBe('');
      await expect.poll(async () => answer.getByTestId('chat-citation').count()).toBe(3);
    }
    const citation = answers.first().getByTestId('chat-citation').first();
    expect(await citation.innerText()).toMatch(/^\[1\] .+/);
    const chunkId = await citation.getAttribute('data-chunk-id');
    await citation.click();
    const passage = page.getByTestId('chat-passage');
    await passage.waitFor();
    await expect.poll(async () => passage.getAttribute('data-found'), LIST_WAIT).toBe('true');
    expect(await passage.getAttribute('data-chunk-id')).toBe(chunkId);
    expect((await passage.getByTestId('chat-passage-text').innerText()).length).toBeGreaterThan(40);
    await page.screenshot({ path: path.join(OUTPUT, '10-chat-passage.png') });
    await page.getByTestId('chat-passage-close').click();
    await passage.waitFor({ state: 'detached' });

    // Without retrieval: both answers stream in, token by token, beside each other.
    await page.getByTestId('chat-rag').uncheck();
    await traceAnswers(page);
    await page.getByTestId('chat-input').fill(QUESTION);
    await page.getByTestId('chat-input').press('Enter');
    await expect.poll(async () => page.getByTestId('chat-turn').count()).toBe(2);
    await expect
      .poll(async () => answers.evaluateAll((all) => all.map((a) => `${a.getAttribute('data-side')}:${a.getAttribute('data-state')}`)), ANSWER_WAIT)
      .toEqual(['base:done', 'adapted:done']);
    const { trace, stopSeen } = await answerTrace(page);
    expect(stopSeen).toBe(true);
    const grew: string[] = [];
    for (const side of ['base', 'adapted']) {
      const final = await page.locator(`[data-testid="chat-turn"]:last-child [data-testid="chat-answer"][data-side="${side}"] [data-testid="chat-answer-text"]`).innerText();
      expect(final.trim(), side).not.toBe('');
      // The text grew while it streamed, before the answer was done. A sampled answer can also end within one
      // frame (a token or two), so each side is checked where it streamed, and one side at least must have.
      const streamed = trace.filter((entry) => entry.side === side && entry.state === 'streaming' && entry.length > 0);
      if (streamed.length && Math.min(...streamed.map((entry) => entry.length)) < Math.max(...trace.filter((entry) => entry.side === side).map((entry) => entry.length))) grew.push(side);
    }
    expect(grew.length, 'an answer shown growing while it streamed').toBeGreaterThan(0);
    expect(await answers.first().getByTestId('chat-citation').count()).toBe(0);
    // Copy puts the answer's text on the clipboard.
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(server.url).origin });
    const adapted = answers.last();
    await adapted.getByTestId('chat-copy').click();
    await expect.poll(async () => adapted.getByTestId('chat-copy').innerText()).toBe('Copied');
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied.replace(/\s+/g, ' ').trim()).toBe((await adapted.getByTestId('chat-answer-text').innerText()).replace(/\s+/g, ' ').trim());
    await page.getByTestId('chat-send').waitFor();
    await page.screenshot({ path: path.join(OUTPUT, '11-chat-side-by-side.png') });
  });

  it('stops an answer on request, keeping what was written', async () => {
    await page.getByTestId('chat-max-tokens').fill('4000');
    await page.getByTestId('chat-max-tokens').blur();
    await page.getByTestId('chat-input').fill('Tell me a long story about a safe workshop.');
    await page.getByTestId('chat-send').click();
    await expect.poll(async () => page.getByTestId('chat-turn').count()).toBe(3);
    const answers = page.locator('[data-testid="chat-turn"]').last().getByTestId('chat-answer');
    await expect.poll(async () => answers.evaluateAll((all) => all.some((a) => a.getAttribute('data-state') === 'streaming')), { ...ANSWER_WAIT, interval: 50 }).toBe(true);
    await page.getByTestId('chat-stop').click();
    await expect.poll(async () => answers.evaluateAll((all) => all.map((a) => a.getAttribute('data-state'))), ANSWER_WAIT).toEqual(['done', 'done']);
    await page.getByTestId('chat-send').waitFor();
    expect((await answers.allInnerTexts()).every((text) => text.trim() !== '')).toBe(true);
    await page.getByTestId('chat-max-tokens').fill('24');
    await page.getByTestId('chat-max-tokens').blur();
  });

  it('saves the conversation and lists it after a reload', async () => {
    await expect.poll(async () => page.getByTestId('conversation-item').count(), LIST_WAIT).toBe(1);
    await page.reload();
    await page.getByTestId('nav-chat').click();
    const item = page.getByTestId('conversation-item');
    await expect.poll(async () => item.count(), LIST_WAIT).toBe(1);
    expect(await item.getByTestId('conversation-title').innerText()).toBe(QUESTION);
    expect(await page.getByTestId('chat-turn').count()).toBe(0);
    await item.getByTestId('conversation-open').click();
    await expect.poll(async () => page.getByTestId('chat-turn').count()).toBe(3);
    const answers = page.locator('[data-testid="chat-turn"]').last().getByTestId('chat-answer');
    expect(await answers.evaluateAll((all) => all.map((a) => `${a.getAttribute('data-side')}:${a.getAttribute('data-state')}`))).toEqual(['base:done', 'adapted:done']);
    // The settings were kept in the workspace.
    expect(await page.getByTestId('chat-model').inputValue()).toBe(TINY_MODEL);
    expect(await page.getByTestId('chat-compare').isChecked()).toBe(true);
    expect(await page.getByTestId('chat-rag').isChecked()).toBe(false);
  });

  it('evaluates the adapter with retrieval and shows the scores and the report', async () => {
    await page.getByTestId('chat-tab-evaluation').click();
    await page.getByTestId('eval-rag').check();
    await page.getByTestId('eval-run').click();
    const scores = page.getByTestId('eval-scores');
    await scores.waitFor({ timeout: 240_000 });
    expect(await scores.getAttribute('data-n')).toBe('1');
    const rows = scores.getByTestId('eval-score-row');
    expect(await rows.evaluateAll((all) => all.map((row) => row.getAttribute('data-variant')))).toEqual(['base', 'adapted', 'base_rag', 'adapted_rag']);
    // The scores shown are the ones the engine recorded with the report, each the mean over its answers.
    const reports = fs.readdirSync(path.join(workspace, 'reports')).filter((f) => f.endsWith('.json')).sort();
    const recorded = JSON.parse(fs.readFileSync(path.join(workspace, 'reports', reports.at(-1)!), 'utf8')) as {
      items: { answers: Record<string, string>; f1: Record<string, number> }[];
    } & Record<string, { f1: number }>;
    const shown = await rows.evaluateAll((all) => all.map((row) => [row.getAttribute('data-variant')!, Number(row.getAttribute('data-f1'))] as const));
    for (const [variant, f1] of shown) {
      expect(f1, variant).toBeCloseTo(recorded[variant]!.f1, 9);
      expect(recorded[variant]!.f1).toBeCloseTo(recorded.items.reduce((a, x) => a + x.f1[variant]!, 0) / recorded.items.length, 12);
      expect(recorded.items.every((x) => x.answers[variant]!.length > 0), variant).toBe(true);
    }
    expect(recorded.items.some((x) => x.answers.adapted !== x.answers.base)).toBe(true);
    expect(await page.getByTestId('eval-progress').getAttribute('data-done')).toBe('1');
    const frame = page.frameLocator('[data-testid="eval-report-frame"]');
    await frame.locator('svg').first().waitFor({ timeout: 30_000 });
    expect(await frame.locator('svg').count()).toBeGreaterThan(0);
    expect(await page.getByTestId('eval-report-frame').getAttribute('sandbox')).toBe('');
    await expect.poll(async () => page.getByTestId('eval-report-item').count(), LIST_WAIT).toBeGreaterThanOrEqual(1);
    await page.screenshot({ path: path.join(OUTPUT, '12-eval-report.png') });
  });

  it('serves the adapted model over the OpenAI API from the Serve tab, with its URL, and stops it', async () => {
    await page.getByTestId('chat-tab-serve').click();
    await page.getByTestId('serve-host').selectOption('0.0.0.0');
    expect(await page.getByTestId('serve-start').isDisabled()).toBe(true); // the network needs a key
    await page.getByTestId('serve-host').selectOption('127.0.0.1');
    await page.getByTestId('serve-port').fill('0');
    await page.getByTestId('serve-start').click();
    const url = page.getByTestId('serve-url');
    await url.waitFor({ timeout: 60_000 });
    const base = await url.innerText();
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const models = (await (await fetch(`${base}/models`)).json()) as { data: { id: string }[] };
    expect(models.data).toHaveLength(1);
    const answer = await fetch(`${base}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: QUESTION }], max_tokens: 8 }) });
    expect(answer.status).toBe(200);
    await page.screenshot({ path: path.join(OUTPUT, '13-serve.png') });
    await page.getByTestId('serve-stop').click();
    await page.getByTestId('serve-start').waitFor();
    expect(await page.getByTestId('serve-panel').getAttribute('data-running')).toBe('false');
    await expect(fetch(`${base}/models`)).rejects.toThrow();
  });

  it('reads a photographed notice by OCR in the language chosen, and marks its passages', async () => {
    await page.getByTestId('nav-documents').click();
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
    await page.getByTestId('doc-filter').fill('');
    // The setting is the workspace's: still there after a reload.
    await page.reload();
    await expect.poll(async () => page.getByTestId('ocr-setting').inputValue(), LIST_WAIT).toBe('en');
  });

  it('logged no errors in the page', () => {
    expect(consoleErrors).toEqual([]);
  });
});

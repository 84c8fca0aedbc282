import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TINY_MODEL } from '../electron/engine/testing/corpus.js';
import { browserFixture, seededWorkspace, type BrowserFixture } from './browser-fixture.js';
import { OUTPUT, writeAdapterRun } from './helpers.js';

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

/**
 * The chat page with the tiny model and the run's adapter chosen, side by side, greedy, short answers, with
 * or without retrieval: what every test here starts from (the settings are the workspace's, so a test that
 * runs after another finds them set, and one that runs alone sets them).
 */
async function chatWith(page: Page, adapter: string, o: { rag: boolean; maxTokens?: number }): Promise<void> {
  await page.getByTestId('nav-chat').click();
  await page.getByTestId('chat-page').waitFor();
  const model = page.getByTestId('chat-model');
  if ((await model.inputValue()) !== TINY_MODEL) {
    await model.fill(TINY_MODEL);
    await model.blur();
  }
  await expect.poll(async () => page.locator(`[data-testid="chat-adapter"] option[value="${adapter}"]`).count(), LIST_WAIT).toBe(1);
  await page.getByTestId('chat-adapter').selectOption(adapter);
  await page.getByTestId('chat-compare').check();
  await page.getByTestId('chat-rag').setChecked(o.rag);
  if (!(await page.getByTestId('chat-temperature').isVisible())) await page.getByTestId('chat-sampling').click();
  await page.getByTestId('chat-temperature').fill('0');
  await page.getByTestId('chat-temperature').blur();
  await page.getByTestId('chat-max-tokens').fill(String(o.maxTokens ?? 24));
  await page.getByTestId('chat-max-tokens').blur();
  await expect.poll(async () => page.getByTestId('chat-sampling').innerText()).toMatch(new RegExp(`temperature 0 .*up to ${(o.maxTokens ?? 24).toLocaleString('en')} tokens`));
}

/** A new conversation, asked one question; resolves when every side is done (or failed, saying why). */
async function ask(page: Page, question: string): Promise<void> {
  await page.getByTestId('conversation-new').click();
  await expect.poll(async () => page.getByTestId('chat-turn').count()).toBe(0);
  await page.getByTestId('chat-input').fill(question);
  await page.getByTestId('chat-send').click();
  const answers = page.locator('[data-testid="chat-turn"]').last().getByTestId('chat-answer');
  await expect.poll(async () => answers.evaluateAll((all) => all.length > 0 && all.every((a) => ['done', 'failed'].includes(a.getAttribute('data-state') ?? ''))), ANSWER_WAIT).toBe(true);
}

describe('browser mode: chat, evaluation and serving with an adapter', () => {
  let fx: BrowserFixture;
  let adapter: string;
  beforeAll(async () => {
    const workspace = await seededWorkspace('chat');
    adapter = await writeAdapterRun(path.join(workspace, 'runs', 'e2e'),
      [[QUESTION, 'Lockout/tagout keeps machines from starting up while they are serviced.']], null,
      { targets: ['blk.0.attn_q.weight', 'blk.2.ffn_up.weight', 'blk.4.attn_v.weight'], seed: 7 });
    fx = await browserFixture(workspace);
  });
  afterAll(() => fx?.close());
  afterEach(() => expect(fx.takeErrors()).toEqual([]));

  it('chats with the adapted and the base model side by side, with retrieval and its citations', async () => {
    const { page, server } = fx;
    await fx.home();
    // The model by its path, then the run's adapter (which sets the model to the run's base model).
    await chatWith(page, adapter, { rag: true });
    expect(await page.getByTestId('nav-chat').getAttribute('aria-current')).toBe('page');
    expect(await page.getByTestId('chat-model').inputValue()).toBe(TINY_MODEL);
    expect(await page.getByTestId('chat-scale').isEnabled()).toBe(true);

    // With retrieval: three passages cited under each answer.
    await page.getByTestId('conversation-new').click();
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
    const { page } = fx;
    await fx.home();
    await chatWith(page, adapter, { rag: false, maxTokens: 4000 });
    await page.getByTestId('conversation-new').click();
    await page.getByTestId('chat-input').fill('Tell me a long story about a safe workshop.');
    await page.getByTestId('chat-send').click();
    await expect.poll(async () => page.getByTestId('chat-turn').count()).toBe(1);
    const answers = page.locator('[data-testid="chat-turn"]').last().getByTestId('chat-answer');
    await expect.poll(async () => answers.evaluateAll((all) => all.some((a) => a.getAttribute('data-state') === 'streaming')), { ...ANSWER_WAIT, interval: 50 }).toBe(true);
    await page.getByTestId('chat-stop').click();
    await expect.poll(async () => answers.evaluateAll((all) => all.map((a) => a.getAttribute('data-state'))), ANSWER_WAIT).toEqual(['done', 'done']);
    await page.getByTestId('chat-send').waitFor();
    expect((await answers.allInnerTexts()).every((text) => text.trim() !== '')).toBe(true);
  });

  it('saves the conversation and lists it after a reload, with the chat settings', async () => {
    const { page } = fx;
    await fx.home();
    await chatWith(page, adapter, { rag: false });
    const question = `What must be done before servicing a machine? (${Date.now()})`;
    await ask(page, question);
    const item = page.getByTestId('conversation-item').filter({ hasText: question });
    await expect.poll(async () => item.count(), LIST_WAIT).toBe(1);
    await page.reload();
    await page.getByTestId('nav-chat').click();
    await expect.poll(async () => item.count(), LIST_WAIT).toBe(1);
    expect(await item.getByTestId('conversation-title').innerText()).toBe(question);
    expect(await page.getByTestId('chat-turn').count()).toBe(0);
    await item.getByTestId('conversation-open').click();
    await expect.poll(async () => page.getByTestId('chat-turn').count()).toBe(1);
    const answers = page.locator('[data-testid="chat-turn"]').last().getByTestId('chat-answer');
    expect(await answers.evaluateAll((all) => all.map((a) => `${a.getAttribute('data-side')}:${a.getAttribute('data-state')}`))).toEqual(['base:done', 'adapted:done']);
    // The settings were kept in the workspace.
    expect(await page.getByTestId('chat-model').inputValue()).toBe(TINY_MODEL);
    expect(await page.getByTestId('chat-compare').isChecked()).toBe(true);
    expect(await page.getByTestId('chat-rag').isChecked()).toBe(false);
  });

  it('evaluates the adapter with retrieval and shows the scores and the report', async () => {
    const { page, workspace } = fx;
    await fx.home();
    await chatWith(page, adapter, { rag: false });
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
    const { page } = fx;
    await fx.home();
    await chatWith(page, adapter, { rag: false });
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

});

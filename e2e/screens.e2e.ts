import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Frame, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { corpusFile, tempDir, TINY_MODEL } from '../electron/engine/testing/corpus.js';
import { STORY_QA } from '../electron/engine/testing/qa-fixtures.js';
import { readGguf } from '../electron/engine/models/gguf/gguf-reader.js';
import { exportPeftAdapter, readLoraGguf } from '../electron/engine/models/peft-adapter.js';
import { OUTPUT, openPage, startUi, writeAdapterRun, type UiServer } from './helpers.js';
import { doctuneCli } from './browser-templates.js';

/**
 * The screens at the window sizes people use (1024 and 1400 px wide), in both languages and both themes:
 * nothing scrolls sideways, the header's controls are all there, and what each screen is for has room. Also
 * the evaluation's reliability warning and its report inside the app, the device notes, the wizard's resume
 * offer, adapters from outside the workspace, the chat's model check, and one selected row at a time.
 */
const WIDTHS = [1024, 1400] as const;
const LANGS = ['en', 'zh-CN'] as const;
const THEMES = ['light', 'dark'] as const;
const HEIGHT = 900;
const LIST_WAIT = { timeout: 30_000, interval: 200 };
const ANSWER_WAIT = { timeout: 120_000, interval: 250 };

/** The header's controls: each must be on screen, whole. */
const HEADER_CONTROLS = [
  '[data-testid="nav-wizard"]',
  '[data-testid="nav-documents"]',
  '[data-testid="nav-dataset"]',
  '[data-testid="nav-chat"]',
  '[data-testid="devices-open"]',
  '[data-testid="lang-switch"]',
  '[data-testid="workspace-info"] .label',
  '[data-testid="workspace-info"] .stats',
];

const QUESTION = 'What is lockout/tagout?';
/** A reference answer with a long unbroken run (a URL), which the report must wrap rather than overflow. */
const LONG_ANSWER = `Lockout/tagout keeps machines from starting up while they are serviced; see https://www.osha.gov/${'control-of-hazardous-energy-'.repeat(12)}end.`;

/** What is wrong with the layout now: sideways scrolling, header controls missing, off screen or cut, elements outside the window. */
async function layoutProblems(page: Page, inside: string[]): Promise<string[]> {
  return page.evaluate(
    ({ header, inside }) => {
      const problems: string[] = [];
      const root = document.documentElement;
      const width = root.clientWidth;
      const height = root.clientHeight;
      if (root.scrollWidth > width) problems.push(`the page scrolls sideways (${root.scrollWidth} > ${width})`);
      for (const selector of header) {
        const element = document.querySelector<HTMLElement>(selector);
        const box = element?.getBoundingClientRect();
        if (!element || !box || box.width === 0 || box.height === 0) {
          problems.push(`${selector} is not shown`);
          continue;
        }
        if (box.left < 0 || box.right > width + 0.5 || box.top < 0 || box.bottom > height) problems.push(`${selector} is outside the window (${Math.round(box.left)}–${Math.round(box.right)} of ${width})`);
        if (element.tagName !== 'SELECT' && element.scrollWidth > element.clientWidth + 1) problems.push(`${selector} is cut (${element.scrollWidth} > ${element.clientWidth})`);
      }
      // Tables and lists whose content is wider than their box (cut, or scrolled sideways inside the page).
      for (const element of Array.from(document.querySelectorAll<HTMLElement>('.table-scroll, .results, .items'))) {
        if (element.getClientRects().length > 0 && element.scrollWidth > element.clientWidth + 1) problems.push(`${element.className.split(' ')[0]} scrolls sideways (${element.scrollWidth} > ${element.clientWidth})`);
      }
      for (const selector of inside) {
        for (const element of Array.from(document.querySelectorAll<HTMLElement>(selector))) {
          const box = element.getBoundingClientRect();
          if (box.width === 0 && box.height === 0) continue;
          if (box.left < -0.5 || box.right > width + 0.5) problems.push(`${selector} is wider than the window (${Math.round(box.left)}–${Math.round(box.right)} of ${width})`);
        }
      }
      return problems;
    },
    { header: HEADER_CONTROLS, inside },
  );
}

type Look = { width: number; lang: (typeof LANGS)[number]; theme: (typeof THEMES)[number] };

/**
 * A screen at both widths, in both languages and both themes: its layout checked, `check` run, and a picture
 * in e2e/output/screen-<name>-<width>-<lang>-<theme>.png.
 */
async function everyLook(page: Page, name: string, inside: string[], check?: (look: Look) => Promise<void>): Promise<void> {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: HEIGHT });
    for (const lang of LANGS) {
      await page.getByTestId('lang-switch').selectOption(lang);
      for (const theme of THEMES) {
        await page.emulateMedia({ colorScheme: theme });
        // The theme's colour transitions, and layout after a language change.
        await page.waitForTimeout(250);
        const look = { width, lang, theme };
        expect(await layoutProblems(page, inside), `${name} ${width} ${lang} ${theme}`).toEqual([]);
        await check?.(look);
        await page.screenshot({ path: path.join(OUTPUT, `screen-${name}-${width}-${lang}-${theme}.png`) });
      }
    }
  }
  await page.setViewportSize({ width: 1280, height: HEIGHT });
  await page.getByTestId('lang-switch').selectOption('en');
  await page.emulateMedia({ colorScheme: 'light' });
}

/** Relative luminance (0 black … 1 white) of a CSS rgb()/rgba() colour. */
function luminance(css: string): number {
  const [r, g, b] = (css.match(/[\d.]+/g) ?? ['0', '0', '0']).slice(0, 3).map((v) => Number(v) / 255);
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

describe('screens at 1024 and 1400 px, in English and Chinese, light and dark', () => {
  let server: UiServer;
  let workspace: string;
  let browser: Browser;
  let page: Page;
  let consoleErrors: string[] = [];
  let runAdapter = '';
  let externalAdapter = '';
  let rawNotes = '';
  const outside = tempDir('e2e-outside');

  beforeAll(async () => {
    workspace = tempDir('e2e-screens');
    await doctuneCli('ingest', corpusFile('osha3120_control_of_hazardous_energy_lockout_tagout.pdf'), corpusFile('治安管理处罚法(2012-10-26).md'), '--workspace', workspace);
    const pairs = path.join(outside, 'pairs.jsonl');
    fs.writeFileSync(pairs, STORY_QA.map(([instruction, output]) => JSON.stringify({ instruction, output })).join('\n'));
    await doctuneCli('dataset', 'import', pairs, '--workspace', workspace, '--status', 'pending');
    // A run with ten examples, three held out, of which one conversation was held out whole.
    runAdapter = await writeAdapterRun(path.join(workspace, 'runs', 'e2e'), [[QUESTION, LONG_ANSWER]], { train: 7, eval: 3 });
    // Trained elsewhere (doctune train --out …): not under the workspace's runs.
    externalAdapter = await writeAdapterRun(path.join(outside, 'elsewhere'), [[QUESTION, 'Locks and tags.']]);
    // An interrupted wizard run: two stages done.
    const interrupted = path.join(workspace, 'runs', 'pipeline-2025-01-02T03-04-05-678Z');
    fs.mkdirSync(interrupted, { recursive: true });
    fs.writeFileSync(path.join(interrupted, 'pipeline.json'), JSON.stringify({
      model: TINY_MODEL, stages: { ingest: { at: '2025-01-02T03:05:00.000Z', summary: {} }, generate: { at: '2025-01-02T03:06:00.000Z', summary: {} } }, choices: { teacher: 'extractive', epochs: 1 },
    }));
    rawNotes = (JSON.parse(await doctuneCli('devices', '--json')) as { notes: string }).notes;
    server = await startUi(workspace);
    ({ browser, page, consoleErrors } = await openPage(server.url, HEIGHT));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  // The test that caused an error in the page fails on it.
  afterEach(() => {
    expect(consoleErrors.splice(0)).toEqual([]);
  });

  // Each test starts from the default window, whatever the one before left open.
  beforeEach(async () => {
    if (!page) return;
    // The app loaded afresh, on its home page.
    await page.goto(server.url);
    await page.getByTestId('lang-switch').waitFor();
    await page.setViewportSize({ width: 1280, height: HEIGHT });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.getByTestId('lang-switch').selectOption('en');
  });

  it('the header keeps every control on screen and its counts whole, with no sideways scroll', async () => {
    await expect.poll(async () => page.getByTestId('doc-row').count(), LIST_WAIT).toBe(2);
    await everyLook(page, 'documents', ['.panel']);
  });

  it('search results get the height of the page, not a small box', async () => {
    await page.getByTestId('search-input').fill('lockout tagout energy');
    await page.getByTestId('search-submit').click();
    await page.getByTestId('search-hit').first().waitFor({ timeout: 30_000 });
    await everyLook(page, 'search', ['.panel', '[data-testid="search-hit"]'], async () => {
      // The box the hits scroll in: the nearest scrolling ancestor of a hit.
      const room = await page.getByTestId('search-hit').first().evaluate((hit) => {
        let box: HTMLElement | null = hit.parentElement;
        while (box && !(['auto', 'scroll'].includes(getComputedStyle(box).overflowY) && box.scrollHeight > box.clientHeight)) box = box.parentElement;
        return box ? box.getBoundingClientRect().height : 0;
      });
      expect(room).toBeGreaterThan(0.6 * HEIGHT);
    });
    // A hit opens its document in the same room, and the results are one click away.
    await page.getByTestId('hit-title').first().click();
    await page.getByTestId('chunk').first().waitFor();
    await page.getByTestId('search-back').click();
    await page.getByTestId('search-hit').first().waitFor();
  });

  it('shows one selected row at a time in the document list while the keyboard moves', async () => {
    const rows = page.getByTestId('doc-row');
    await rows.first().locator('button').first().click();
    await page.keyboard.press('Tab');
    const marked = async (): Promise<number> =>
      rows.evaluateAll((all) => all.filter((row) => row.classList.contains('selected') || row.querySelector(':focus-visible') !== null).length);
    expect(await marked()).toBe(1);
    await rows.first().locator('button').first().click();
    await page.keyboard.press('ArrowDown');
    await expect.poll(async () => rows.nth(1).evaluate((row) => row.classList.contains('selected'))).toBe(true);
    expect(await marked()).toBe(1);
  });

  it('explains in the devices panel, once per kind and translated, why a GPU cannot be used, with the raw detail behind a disclosure', async () => {
    const kinds = new Set(rawNotes.split(/;\s+/).filter(Boolean).map((note) => /^(cuda|vulkan|metal)\b/i.exec(note)?.[1]?.toLowerCase() ?? 'other'));
    await page.getByTestId('devices-open').click();
    const panel = page.getByTestId('devices-panel');
    await panel.getByTestId('device-row').first().waitFor({ timeout: 60_000 });
    const notes = panel.getByTestId('device-note');
    expect((await notes.evaluateAll((all) => all.map((n) => n.getAttribute('data-kind')))).sort()).toEqual([...kinds].sort());
    if (rawNotes) {
      const raw = panel.getByTestId('devices-notes-raw');
      expect(await raw.evaluate((d) => (d as HTMLDetailsElement).open)).toBe(false);
      expect((await raw.textContent())?.replace(/\s+/g, ' ')).toContain(rawNotes.split(/;\s+/)[0]);
    }
    await everyLook(page, 'devices', ['[data-testid="devices-panel"]'], async ({ lang }) => {
      for (const text of await notes.allInnerTexts()) {
        // A person's words, not the library's (which stay behind the disclosure).
        expect(text).not.toMatch(/cannot open shared object|unavailable \(|\.so\b|\.dll\b/);
        if (lang === 'zh-CN') expect(text).toMatch(/\p{Script=Han}/u);
      }
    });
    await panel.getByTestId('devices-close').click();
    await panel.waitFor({ state: 'detached' });
  });

  it('shows one selected row at a time in the review table after moving with the keyboard', async () => {
    await page.getByTestId('nav-dataset').click();
    const rows = page.getByTestId('qa-row');
    await expect.poll(async () => rows.count(), LIST_WAIT).toBe(STORY_QA.length);
    await rows.nth(0).getByTestId('qa-open').click();
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    await expect.poll(async () => rows.nth(2).getAttribute('aria-selected')).toBe('true');
    const looks = await rows.evaluateAll((all) => {
      const selected = all.filter((row) => row.getAttribute('aria-selected') === 'true');
      const focused = all.filter((row) => row.querySelector(':focus-visible') !== null);
      const background = (row: Element): string => getComputedStyle(row).backgroundColor;
      return { selected: selected.length, focusedElsewhere: focused.filter((row) => !selected.includes(row)).length, sameBackground: all.filter((row) => !selected.includes(row) && background(row) === background(selected[0]!)).length };
    });
    expect(looks).toEqual({ selected: 1, focusedElsewhere: 0, sameBackground: 0 });
    await everyLook(page, 'review', ['.panel']);
  });

  it('the wizard uses the width of the window and offers the interrupted run again after a reload', async () => {
    await page.getByTestId('nav-wizard').click();
    await page.getByTestId('wizard-page').waitFor();
    await expect.poll(async () => page.getByTestId('wizard-resumable').count(), LIST_WAIT).toBe(1);
    await page.reload();
    await page.getByTestId('nav-wizard').click();
    await expect.poll(async () => page.getByTestId('wizard-resumable').count(), LIST_WAIT).toBe(1);
    expect(await page.getByTestId('wizard-resumable').innerText()).toMatch(/2/);
    await everyLook(page, 'wizard', ['.panel'], async ({ width }) => {
      const body = await page.getByTestId('wizard-page').locator('section.panel').first().boundingBox();
      expect(body!.width).toBeGreaterThan(0.9 * (width - 40));
    });
  });

  it('checks the chat model as soon as it is chosen, and says why it cannot be used', async () => {
    await page.getByTestId('nav-chat').click();
    const model = page.getByTestId('chat-model');
    await model.waitFor();
    const problem = page.getByTestId('chat-model-problem');
    await model.fill('/nonexistent/model.gguf');
    await model.blur();
    await expect.poll(async () => problem.innerText(), { timeout: 5_000 }).toMatch(/no file/i);
    const text = path.join(outside, 'notes.gguf');
    fs.writeFileSync(text, 'these are notes, not a model');
    await model.fill(text);
    await model.blur();
    await expect.poll(async () => problem.innerText(), { timeout: 5_000 }).toMatch(/not a GGUF model/i);
    await page.getByTestId('lang-switch').selectOption('zh-CN');
    expect(await problem.innerText()).toMatch(/\p{Script=Han}/u);
    await page.getByTestId('lang-switch').selectOption('en');
    await model.fill(TINY_MODEL);
    await model.blur();
    await problem.waitFor({ state: 'detached', timeout: 5_000 });
  });

  /**
   * The chat page with the tiny model and an adapter chosen. The settings are the workspace's: each test sets
   * what it needs, whatever a test before it chose.
   */
  async function openChat(adapter: string): Promise<void> {
    await page.getByTestId('nav-chat').click();
    const model = page.getByTestId('chat-model');
    await model.waitFor();
    if ((await model.inputValue()) !== TINY_MODEL) {
      await model.fill(TINY_MODEL);
      await model.blur();
    }
    await expect.poll(async () => page.locator(`[data-testid="chat-adapter"] option[value="${adapter}"]`).count(), LIST_WAIT).toBe(1);
    await page.getByTestId('chat-adapter').selectOption(adapter);
    await expect.poll(async () => page.getByTestId('chat-model-problem').count()).toBe(0);
  }

  it('does not save a conversation whose first answer failed', async () => {
    await page.getByTestId('nav-chat').click();
    const vanishing = path.join(outside, 'vanishing.gguf');
    fs.copyFileSync(TINY_MODEL, vanishing);
    const model = page.getByTestId('chat-model');
    await model.fill(vanishing);
    await model.blur();
    await page.getByTestId('chat-adapter').selectOption('');
    await expect.poll(async () => page.getByTestId('chat-model-problem').count()).toBe(0);
    // Gone after it was chosen: the answer fails.
    fs.rmSync(vanishing);
    await page.getByTestId('chat-input').fill(QUESTION);
    await page.getByTestId('chat-send').click();
    const answer = page.getByTestId('chat-answer').last();
    await expect.poll(async () => answer.getAttribute('data-state'), ANSWER_WAIT).toBe('failed');
    await page.waitForTimeout(500);
    expect(await page.getByTestId('conversation-item').count()).toBe(0);
    await page.reload();
    await page.getByTestId('nav-chat').click();
    await expect.poll(async () => page.getByTestId('conversation-list').innerText(), LIST_WAIT).toMatch(/No saved conversations/);
    expect(await page.getByTestId('conversation-item').count()).toBe(0);
    await page.getByTestId('chat-model').fill(TINY_MODEL);
    await page.getByTestId('chat-model').blur();
  });

  it('adds an adapter trained outside the workspace to the list, and remembers it', async () => {
    await openChat(runAdapter);
    const select = page.getByTestId('chat-adapter');
    const option = (value: string) => page.locator(`[data-testid="chat-adapter"] option[value="${value}"]`);
    await expect.poll(async () => option(runAdapter).count(), LIST_WAIT).toBe(1);
    await select.selectOption({ label: await page.getByTestId('chat-adapter').locator('option').last().innerText() });
    await page.getByTestId('chat-adapter-path').fill(externalAdapter);
    await page.getByTestId('chat-adapter-path').press('Enter');
    await expect.poll(async () => option(externalAdapter).count(), LIST_WAIT).toBe(1);
    // Listed first, then chosen once the settings have taken it.
    await expect.poll(async () => select.inputValue(), LIST_WAIT).toBe(externalAdapter);
    // Another adapter chosen, and the page reloaded: the added one is still offered.
    await select.selectOption(runAdapter);
    await page.reload();
    await page.getByTestId('nav-chat').click();
    await expect.poll(async () => option(externalAdapter).count(), LIST_WAIT).toBe(1);
    await expect.poll(async () => select.inputValue(), LIST_WAIT).toBe(runAdapter);
    await select.selectOption(externalAdapter);
    await expect.poll(async () => page.getByTestId('chat-model').inputValue()).toBe(TINY_MODEL);
    await select.selectOption(runAdapter);
    await everyLook(page, 'chat', ['.panel']);
  });

  it('imports a PEFT adapter folder typed into the adapter picker, converted for the chat\'s base model', async () => {
    const peft = path.join(outside, 'peft adapter');
    await fs.promises.rm(peft, { recursive: true, force: true });
    await exportPeftAdapter(externalAdapter, TINY_MODEL, peft, { baseModel: 'karpathy/tinyllamas' });
    await openChat(runAdapter);
    const select = page.getByTestId('chat-adapter');
    await select.selectOption({ label: await select.locator('option').last().innerText() });
    await page.getByTestId('chat-adapter-path').fill(peft);
    await page.getByTestId('chat-adapter-path').press('Enter');
    // Converted into the workspace, listed and chosen: a new GGUF adapter, not the folder.
    await expect.poll(async () => select.inputValue(), LIST_WAIT).toMatch(/imported-adapters[\\/]peft_adapter-[^\\/]+[\\/]adapter\.gguf$/);
    const imported = await select.inputValue();
    expect(fs.existsSync(imported)).toBe(true);
    // The same numbers as the adapter it was exported from (both F32; names and layout round-tripped).
    const back = await readLoraGguf(imported, await readGguf(TINY_MODEL));
    const original = await readLoraGguf(externalAdapter, await readGguf(TINY_MODEL));
    expect(back.pairs.map((p) => p.target).sort()).toEqual(original.pairs.map((p) => p.target).sort());
    for (const p of original.pairs) expect(back.pairs.find((q) => q.target === p.target)!.b).toEqual(p.b);
    // A folder that is not an adapter: the reason, on the picker.
    await select.selectOption({ label: await select.locator('option').last().innerText() });
    await page.getByTestId('chat-adapter-path').fill(outside);
    await page.getByTestId('chat-adapter-path').press('Enter');
    await expect.poll(async () => page.getByTestId('chat-adapter-problem').innerText(), LIST_WAIT).toMatch(/PEFT|adapter/i);
    await select.selectOption(runAdapter);
  });

  it('warns that a score on one question is no measure, explains examples and questions, and shows the report in the UI\'s language and theme, fitting the panel', async () => {
    await openChat(runAdapter);
    await page.getByTestId('chat-tab-evaluation').click();
    await page.getByTestId('eval-run').click();
    const scores = page.getByTestId('eval-scores');
    await scores.waitFor({ timeout: 240_000 });
    expect(await scores.getAttribute('data-n')).toBe('1');
    const warning = page.getByTestId('eval-reliability');
    expect(await warning.getAttribute('data-level')).toBe('insufficient');
    expect(await warning.innerText()).toMatch(/\b1\b.*question/);
    expect(await warning.innerText()).toMatch(/cannot be read as a measure/);
    const note = await page.getByTestId('eval-examples-note').innerText();
    expect(note).toMatch(/\b7\b/);
    expect(note).toMatch(/\b3\b/);
    const frameElement = page.getByTestId('eval-report-frame');
    await page.frameLocator('[data-testid="eval-report-frame"]').locator('svg').first().waitFor({ timeout: 30_000 });
    const frame = async (): Promise<Frame> => (await (await frameElement.elementHandle())!.contentFrame())!;
    const report = async (): Promise<{ lang: string; background: string; color: string; scrollWidth: number; clientWidth: number; scoreTables: number; warning: string }> =>
      (await frame()).evaluate(() => {
        const body = getComputedStyle(document.body);
        const html = getComputedStyle(document.documentElement);
        const transparent = (c: string): boolean => c === 'transparent' || /rgba\(.*,\s*0\)$/.test(c);
        return {
          lang: document.documentElement.lang,
          background: transparent(body.backgroundColor) ? html.backgroundColor : body.backgroundColor,
          color: body.color,
          scrollWidth: document.documentElement.scrollWidth,
          clientWidth: document.documentElement.clientWidth,
          scoreTables: Array.from(document.querySelectorAll('table')).filter((t) => /Exact match|精确匹配|完全匹配/.test(t.tHead?.textContent ?? '')).length,
          warning: document.querySelector('[data-testid="report-reliability"]')?.textContent ?? '',
        };
      });
    await everyLook(page, 'eval', ['.panel'], async ({ lang, theme }) => {
      await expect.poll(async () => (await report()).lang, LIST_WAIT).toBe(lang);
      const r = await report();
      expect(r.scrollWidth, 'the report scrolls sideways').toBeLessThanOrEqual(r.clientWidth);
      expect(r.scoreTables, 'the panel shows the scores already').toBe(0);
      // Said once, by the panel, in the UI's language; the report beside it does not repeat it.
      expect(r.warning).toBe('');
      expect(await warning.innerText()).toMatch(lang === 'en' ? /Only 1 question was scored/ : /只评了 1 个问题/);
      if (theme === 'dark') {
        expect(luminance(r.background)).toBeLessThan(0.25);
        expect(luminance(r.color)).toBeGreaterThan(0.6);
      } else {
        expect(luminance(r.background)).toBeGreaterThan(0.8);
      }
    });
  });
});

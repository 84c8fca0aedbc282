import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { corpusFile, tempDir } from '../electron/engine/testing/corpus.js';
import { browserFixture, type BrowserFixture } from './browser-fixture.js';
import { OUTPUT } from './helpers.js';

/** File events, a quiet moment, then the import: a few seconds on a busy machine. */
const SYNC_WAIT = { timeout: 60_000, interval: 250 };

/** A workspace of its own, its UI, and a folder holding two manuals (copied: the originals stay read-only). */
async function watchedFixture(name: string): Promise<{ fx: BrowserFixture; folder: string }> {
  const folder = tempDir(`e2e-watched-${name}`);
  // The shared drive as a team keeps it: two manuals, copied in.
  fs.copyFileSync(corpusFile('osha_factsheet_lockout_tagout.pdf'), path.join(folder, 'lockout-tagout.pdf'));
  fs.copyFileSync(corpusFile('ready_gov_be_prepared_for_a_tornado.pdf'), path.join(folder, 'tornado.pdf'));
  const fx = await browserFixture(path.join(tempDir(`e2e-watched-ws-${name}`), 'ws'), 900);
  await fx.home();
  return { fx, folder };
}

const folderRow = (page: Page) => page.getByTestId('watched-folder');
const docStatus = (page: Page, title: RegExp) => page.getByTestId('doc-row').filter({ hasText: title }).getAttribute('data-status');

/** The folder watched from the documents page, once its first sync has imported both manuals. */
async function watch(page: Page, folder: string): Promise<void> {
  await page.getByTestId('watch-path').fill(folder);
  await page.getByRole('button', { name: 'Watch', exact: true }).click();
  await expect.poll(async () => folderRow(page).getAttribute('data-state'), SYNC_WAIT).toBe('watching');
  await expect.poll(async () => page.getByTestId('doc-row').count(), SYNC_WAIT).toBe(2);
}

/** QA pairs from every document, all accepted; how many. */
async function acceptedPairs(page: Page): Promise<number> {
  await page.getByTestId('nav-dataset').click();
  await page.getByTestId('generate-start').click();
  await page.getByTestId('generate-summary').waitFor({ timeout: 120_000 });
  await page.getByTestId('qa-select-all').check();
  await page.getByTestId('bulk-accept').click();
  await expect.poll(async () => Number(await page.getByTestId('qa-count-pending').getAttribute('data-count')), SYNC_WAIT).toBe(0);
  return Number(await page.getByTestId('qa-count-accepted').getAttribute('data-count'));
}

/** Each test has its own workspace, server, page and folder: any one runs alone, or in any order. */
describe('browser mode: a watched folder kept in step with the workspace', () => {
  let fx: BrowserFixture | null = null;
  afterEach(async () => {
    const errors = fx?.takeErrors() ?? [];
    await fx?.close();
    fx = null;
    expect(errors).toEqual([]);
  });

  // Refusing a path adds nothing: the first watch shares its workspace.
  describe('a folder given to watch', () => {
    let made: { fx: BrowserFixture; folder: string };
    beforeAll(async () => {
      made = await watchedFixture('import');
    });
    afterAll(() => made?.fx.close());
    afterEach(() => expect(made.fx.takeErrors()).toEqual([]));

    it('refuses a path that is not a folder, naming it', async () => {
      const { page } = made.fx;
      await made.fx.home();
      await page.getByTestId('watched-folders').waitFor();
      const file = path.join(made.folder, 'tornado.pdf');
      await page.getByTestId('watch-path').fill(file);
      await page.getByTestId('watch-path').press('Enter');
      const problem = page.getByTestId('watch-problem');
      await problem.waitFor();
      expect(await problem.innerText()).toContain(file);
      expect(await problem.innerText()).toMatch(/not a folder/);
      // Not added (the folder itself may be watched already).
      expect(await folderRow(page).filter({ hasText: 'tornado.pdf' }).count()).toBe(0);
    });

    it('imports the folder it is given, and says so', async () => {
      const { page } = made.fx;
      await made.fx.home();
      await watch(page, made.folder);
      expect(await page.getByTestId('watch-problem').count()).toBe(0);
      expect(await folderRow(page).innerText()).toContain(made.folder);
      expect(await folderRow(page).getByTestId('watch-last-sync').innerText()).toMatch(/2 imported/);
    });
  });

  it('marks a deleted file\'s document removed and its QA pairs, keeping both, and follows a new file', async () => {
    const made = await watchedFixture('delete');
    fx = made.fx;
    const { page } = fx;
    const { folder } = made;
    await watch(page, folder);
    const accepted = await acceptedPairs(page);
    expect(accepted).toBeGreaterThan(4);

    await page.getByTestId('nav-documents').click();
    fs.rmSync(path.join(folder, 'tornado.pdf'));
    fs.copyFileSync(corpusFile('ready_gov_be_prepared_for_an_earthquake.pdf'), path.join(folder, 'earthquake.pdf'));
    await expect.poll(async () => docStatus(page, /tornado/i), SYNC_WAIT).toBe('removed');
    await expect.poll(async () => docStatus(page, /earthquake/i), SYNC_WAIT).toBe('ready');
    expect(await docStatus(page, /lockout/i)).toBe('ready');
    await expect.poll(async () => folderRow(page).getByTestId('watch-last-sync').innerText(), SYNC_WAIT).toMatch(/removed/);
    await page.screenshot({ path: path.join(OUTPUT, '15-watched-folder.png'), fullPage: true });

    // On the review page, the tornado pairs are still there, marked; the others are not.
    await page.getByTestId('nav-dataset').click();
    const note = page.getByTestId('qa-removed-note');
    await note.waitFor(SYNC_WAIT);
    const leftOut = Number(/(\d+)/.exec(await note.innerText())![1]);
    expect(leftOut).toBeGreaterThan(0);
    expect(leftOut).toBeLessThan(accepted);
    expect(Number(await page.getByTestId('qa-count-accepted').getAttribute('data-count'))).toBe(accepted);
    const marked = page.getByTestId('qa-row').filter({ has: page.getByTestId('qa-source-state') });
    expect(await marked.count()).toBe(leftOut);
    expect(await marked.first().innerText()).toMatch(/TORNADO[\s\S]*document removed/i);
    // Its passage is still readable, with the reason beside it.
    await marked.first().getByTestId('qa-open').click();
    await page.getByTestId('qa-passage-source-state').waitFor();
    expect(await page.getByTestId('qa-passage').innerText()).toMatch(/tornado/i);
    await page.screenshot({ path: path.join(OUTPUT, '16-removed-pairs.png') });
  });

  it('a file put back brings its document and pairs back', async () => {
    const made = await watchedFixture('put-back');
    fx = made.fx;
    const { page } = fx;
    const { folder } = made;
    await watch(page, folder);
    await acceptedPairs(page);
    // Taken away: its pairs are marked.
    await page.getByTestId('nav-documents').click();
    fs.rmSync(path.join(folder, 'tornado.pdf'));
    await expect.poll(async () => docStatus(page, /tornado/i), SYNC_WAIT).toBe('removed');
    await page.getByTestId('nav-dataset').click();
    await page.getByTestId('qa-removed-note').waitFor(SYNC_WAIT);
    // Put back: the document and its pairs return.
    await page.getByTestId('nav-documents').click();
    fs.copyFileSync(corpusFile('ready_gov_be_prepared_for_a_tornado.pdf'), path.join(folder, 'tornado.pdf'));
    await expect.poll(async () => docStatus(page, /tornado/i), SYNC_WAIT).toBe('ready');
    await page.getByTestId('nav-dataset').click();
    await expect.poll(async () => page.getByTestId('qa-removed-note').count(), SYNC_WAIT).toBe(0);
    expect(await page.getByTestId('qa-source-state').count()).toBe(0);
  });

  it('lists the folder after a reload; stopping the watch keeps the documents and follows nothing more', async () => {
    const made = await watchedFixture('stop');
    fx = made.fx;
    const { page } = fx;
    const { folder } = made;
    await watch(page, folder);
    await page.reload();
    await expect.poll(async () => folderRow(page).getAttribute('data-state'), SYNC_WAIT).toBe('watching');
    await folderRow(page).getByRole('button', { name: 'Stop watching' }).click();
    await expect.poll(async () => folderRow(page).count(), SYNC_WAIT).toBe(0);
    expect(await page.getByTestId('doc-row').count()).toBe(2);
    // No longer followed: a new file stays out.
    fs.copyFileSync(corpusFile('osha3071_job_hazard_analysis.pdf'), path.join(folder, 'jha.pdf'));
    await new Promise((r) => setTimeout(r, 3000));
    await page.getByRole('button', { name: 'Refresh' }).click();
    expect(await page.getByTestId('doc-row').count()).toBe(2);
  });
});

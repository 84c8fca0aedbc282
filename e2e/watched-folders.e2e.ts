import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corpusFile, tempDir } from '../electron/engine/testing/corpus.js';
import { OUTPUT, openPage, startUi, type UiServer } from './helpers.js';

/** File events, a quiet moment, then the import: a few seconds on a busy machine. */
const SYNC_WAIT = { timeout: 60_000, interval: 250 };

describe('browser mode: a watched folder kept in step with the workspace', () => {
  let server: UiServer;
  let browser: Browser;
  let page: Page;
  let consoleErrors: string[] = [];
  let folder: string;

  beforeAll(async () => {
    folder = tempDir('e2e-watched');
    // The shared drive as a team keeps it: two manuals, copied in (the originals stay read-only).
    fs.copyFileSync(corpusFile('osha_factsheet_lockout_tagout.pdf'), path.join(folder, 'lockout-tagout.pdf'));
    fs.copyFileSync(corpusFile('ready_gov_be_prepared_for_a_tornado.pdf'), path.join(folder, 'tornado.pdf'));
    server = await startUi(tempDir('e2e-watched-ws'));
    ({ browser, page, consoleErrors } = await openPage(server.url, 900));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  const folderRow = () => page.getByTestId('watched-folder');
  const docStatus = (title: RegExp) => page.getByTestId('doc-row').filter({ hasText: title }).getAttribute('data-status');

  it('refuses a path that is not a folder, naming it', async () => {
    await page.getByTestId('watched-folders').waitFor();
    const file = path.join(folder, 'tornado.pdf');
    await page.getByTestId('watch-path').fill(file);
    await page.getByTestId('watch-path').press('Enter');
    const problem = page.getByTestId('watch-problem');
    await problem.waitFor();
    expect(await problem.innerText()).toContain(file);
    expect(await problem.innerText()).toMatch(/not a folder/);
    expect(await folderRow().count()).toBe(0);
  });

  it('imports the folder it is given, and says so', async () => {
    await page.getByTestId('watch-path').fill(folder);
    await page.getByRole('button', { name: 'Watch', exact: true }).click();
    await expect.poll(async () => folderRow().getAttribute('data-state'), SYNC_WAIT).toBe('watching');
    expect(await page.getByTestId('watch-problem').count()).toBe(0);
    expect(await folderRow().innerText()).toContain(folder);
    expect(await folderRow().getByTestId('watch-last-sync').innerText()).toMatch(/2 imported/);
    await expect.poll(async () => page.getByTestId('doc-row').count(), SYNC_WAIT).toBe(2);
  });

  it('marks a deleted file\'s document removed and its QA pairs, keeping both, and follows a new file', async () => {
    // QA pairs from both manuals, all accepted.
    await page.getByTestId('nav-dataset').click();
    await page.getByTestId('generate-start').click();
    await page.getByTestId('generate-summary').waitFor({ timeout: 120_000 });
    await page.getByTestId('qa-select-all').check();
    await page.getByTestId('bulk-accept').click();
    await expect.poll(async () => Number(await page.getByTestId('qa-count-pending').getAttribute('data-count')), SYNC_WAIT).toBe(0);
    const accepted = Number(await page.getByTestId('qa-count-accepted').getAttribute('data-count'));
    expect(accepted).toBeGreaterThan(4);

    await page.getByTestId('nav-documents').click();
    fs.rmSync(path.join(folder, 'tornado.pdf'));
    fs.copyFileSync(corpusFile('ready_gov_be_prepared_for_an_earthquake.pdf'), path.join(folder, 'earthquake.pdf'));
    await expect.poll(async () => docStatus(/tornado/i), SYNC_WAIT).toBe('removed');
    await expect.poll(async () => docStatus(/earthquake/i), SYNC_WAIT).toBe('ready');
    expect(await docStatus(/lockout/i)).toBe('ready');
    await expect.poll(async () => folderRow().getByTestId('watch-last-sync').innerText(), SYNC_WAIT).toMatch(/removed/);
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
    await page.getByTestId('nav-documents').click();
    fs.copyFileSync(corpusFile('ready_gov_be_prepared_for_a_tornado.pdf'), path.join(folder, 'tornado.pdf'));
    await expect.poll(async () => docStatus(/tornado/i), SYNC_WAIT).toBe('ready');
    await page.getByTestId('nav-dataset').click();
    await expect.poll(async () => page.getByTestId('qa-removed-note').count(), SYNC_WAIT).toBe(0);
    expect(await page.getByTestId('qa-source-state').count()).toBe(0);
  });

  it('lists the folder after a reload; stopping the watch keeps the documents and follows nothing more', async () => {
    await page.getByTestId('nav-documents').click();
    await page.reload();
    await expect.poll(async () => folderRow().getAttribute('data-state'), SYNC_WAIT).toBe('watching');
    await folderRow().getByRole('button', { name: 'Stop watching' }).click();
    await expect.poll(async () => folderRow().count(), SYNC_WAIT).toBe(0);
    expect(await page.getByTestId('doc-row').count()).toBe(3);
    // No longer followed: a new file stays out.
    fs.copyFileSync(corpusFile('osha3071_job_hazard_analysis.pdf'), path.join(folder, 'jha.pdf'));
    await new Promise((r) => setTimeout(r, 3000));
    await page.getByRole('button', { name: 'Refresh' }).click();
    expect(await page.getByTestId('doc-row').count()).toBe(3);
  });

  it('logged no errors in the page', () => {
    expect(consoleErrors).toEqual([]);
  });
});

/**
 * One browser-mode fixture per group of e2e tests: its own workspace (empty, or seeded through the built CLI
 * as a user would), its own `doctune ui` and its own page; each test starts from the app's home in English,
 * so that any one of them runs alone, or in any order.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { inject } from 'vitest';
import { tempDir } from '../electron/engine/testing/corpus.js';
import { openPage, startUi, type UiServer } from './helpers.js';

/**
 * A workspace with SEED_DOCUMENTS imported (and, with `pairs`, QA pairs from the extractive teacher, pending
 * review), copied from the templates the run's global set-up made: each fixture gets its own copy to change.
 */
export async function seededWorkspace(name: string, o: { pairs?: boolean } = {}): Promise<string> {
  const templates = inject('e2eTemplates');
  const copy = path.join(tempDir(`e2e-${name}`), 'ws');
  fs.cpSync(o.pairs ? templates.pairs : templates.documents, copy, { recursive: true });
  return copy;
}

export interface BrowserFixture {
  workspace: string;
  server: UiServer;
  browser: Browser;
  page: Page;
  /** Console errors and uncaught exceptions since the last `takeErrors`. */
  consoleErrors: string[];
  /** The app's home, freshly loaded, in English. */
  home(): Promise<void>;
  /** The errors the page logged since the last call (the test that caused them fails on them). */
  takeErrors(): string[];
  close(): Promise<void>;
}

/** `env` adds to the server's environment (a home folder of its own, a stand-in for Hugging Face). */
export async function browserFixture(workspace: string, height = 860, env: Record<string, string> = {}): Promise<BrowserFixture> {
  const server = await startUi(workspace, env);
  const { browser, page, consoleErrors } = await openPage(server.url, height);
  return {
    workspace, server, browser, page, consoleErrors,
    async home() {
      await page.emulateMedia({ colorScheme: 'light' });
      await page.goto(server.url);
      await page.getByTestId('lang-switch').waitFor();
      if ((await page.getByTestId('lang-switch').inputValue()) !== 'en') await page.getByTestId('lang-switch').selectOption('en');
    },
    takeErrors: () => consoleErrors.splice(0),
    async close() {
      await browser.close();
      await server.stop();
    },
  };
}

/**
 * One browser-mode fixture per group of e2e tests: its own workspace (empty, or seeded through the built CLI
 * as a user would), its own `doctune ui` and its own page; each test starts from the app's home in English,
 * so that any one of them runs alone, or in any order.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { corpusFile, REPO_ROOT, tempDir } from '../electron/engine/testing/corpus.js';
import { openPage, startUi, type UiServer } from './helpers.js';

/** The documents most groups work on: the lockout booklet and fact sheet, and a Chinese statute. */
export const SEED_DOCUMENTS = ['osha3120_control_of_hazardous_energy_lockout_tagout.pdf', 'osha_factsheet_lockout_tagout.pdf', '治安管理处罚法(2012-10-26).md'];

/** The built CLI, as a user runs it. */
export async function doctuneCli(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(REPO_ROOT, 'bin', 'doctune.js'), ...args], {
    cwd: REPO_ROOT, env: { ...process.env, GGML_NO_BACKTRACE: '1' }, maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

const templates = new Map<string, Promise<string>>();

/**
 * A workspace with SEED_DOCUMENTS imported (and, with `pairs`, QA pairs from the extractive teacher, pending
 * review), copied from a template made once per test file: each fixture gets its own copy to change.
 */
export async function seededWorkspace(name: string, o: { pairs?: boolean } = {}): Promise<string> {
  const key = o.pairs ? 'pairs' : 'documents';
  let template = templates.get(key);
  if (!template) {
    template = (async () => {
      const dir = path.join(tempDir(`e2e-template-${key}`), 'ws');
      await doctuneCli('ingest', ...SEED_DOCUMENTS.map(corpusFile), '--workspace', dir, '--json');
      if (o.pairs) await doctuneCli('generate', '--teacher', 'extractive', '--questions-per-chunk', '2', '--workspace', dir, '--json');
      return dir;
    })();
    templates.set(key, template);
  }
  const copy = path.join(tempDir(`e2e-${name}`), 'ws');
  fs.cpSync(await template, copy, { recursive: true });
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

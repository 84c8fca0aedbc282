/**
 * Once per e2e run: the seeded workspaces the browser-mode groups copy (documents; documents and pending
 * QA pairs), made through the built CLI as a user would, so that no test file makes its own.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { makeTemplates } from './browser-templates.js';

export default async function setup(project: TestProject): Promise<() => void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'doctune-e2e-templates-'));
  project.provide('e2eTemplates', await makeTemplates(dir));
  return () => fs.rmSync(dir, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    e2eTemplates: { documents: string; pairs: string };
  }
}

/**
 * The CLI for the command-line tests: the built one, as `npx doctune` runs it, when the build is newer than
 * every engine source (CI builds at install); the sources under tsx otherwise (while editing), so a test
 * never runs stale code. DOCTUNE_TEST_CLI=source or =built chooses.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './corpus.js';

export const CLI_BIN = path.join(REPO_ROOT, 'electron/engine/cli/bin.ts');
const BUILT_BIN = path.join(REPO_ROOT, 'bin', 'doctune.js');
const BUILT_ENTRY = path.join(REPO_ROOT, 'dist', 'engine', 'cli', 'bin.js');

/** Whether dist/ was built after the last change to any source it is built from. */
function builtIsCurrent(): boolean {
  if (!fs.existsSync(BUILT_ENTRY)) return false;
  const builtAt = fs.statSync(BUILT_ENTRY).mtimeMs;
  const newer = (dir: string): boolean =>
    fs.readdirSync(dir, { withFileTypes: true }).some((e) => {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) return e.name !== 'testing' && newer(full);
      return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && fs.statSync(full).mtimeMs > builtAt;
    });
  return !newer(path.join(REPO_ROOT, 'electron', 'engine')) && !newer(path.join(REPO_ROOT, 'electron', 'shared'));
}

const mode = process.env.DOCTUNE_TEST_CLI ?? (builtIsCurrent() ? 'built' : 'source');

/** node's arguments that start the CLI, before the command's own. */
export const CLI_ARGS: readonly string[] = mode === 'built' ? [BUILT_BIN] : ['--import', 'tsx', CLI_BIN];

/** Where the commands tests run keep their log (`serve` and `ui` would otherwise log to the user's folder). */
export const TEST_LOG_FILE = path.join(os.tmpdir(), 'doctune-test-logs', `cli-${process.pid}.log`);
const testEnv = (env: Record<string, string> = {}): NodeJS.ProcessEnv => ({ ...process.env, DOCTUNE_LOG_FILE: TEST_LOG_FILE, ...env });

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function doctune(...args: string[]): CliResult {
  return doctuneWith({}, ...args);
}

/** With standard input and extra environment variables. */
export function doctuneWith(o: { input?: string; env?: Record<string, string>; timeoutMs?: number }, ...args: string[]): CliResult {
  const r = spawnSync(process.execPath, [...CLI_ARGS, ...args], {
    encoding: 'utf8',
    cwd: REPO_ROOT,
    timeout: o.timeoutMs ?? 120_000,
    ...(o.input !== undefined ? { input: o.input } : {}),
    env: testEnv(o.env),
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The same without blocking this process (for tests that serve HTTP to the CLI from here). */
export function doctuneAsync(...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...CLI_ARGS, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: testEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

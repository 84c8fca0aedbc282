/** The CLI run from source the way `npx doctune` runs the built one, for the command-line tests. */
import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './corpus.js';

export const CLI_BIN = path.join(REPO_ROOT, 'electron/engine/cli/bin.ts');

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
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI_BIN, ...args], {
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
    const child = spawn(process.execPath, ['--import', 'tsx', CLI_BIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: testEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

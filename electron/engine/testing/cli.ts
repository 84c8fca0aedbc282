/** The CLI run from source the way `npx doctune` runs the built one, for the command-line tests. */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './corpus.js';

export const CLI_BIN = path.join(REPO_ROOT, 'electron/engine/cli/bin.ts');

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
    env: { ...process.env, ...o.env },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The same without blocking this process (for tests that serve HTTP to the CLI from here). */
export function doctuneAsync(...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI_BIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

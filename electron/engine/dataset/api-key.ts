/**
 * API keys for teacher endpoints: from an environment variable, or from the operating system's keychain
 * (libsecret's secret-tool on Linux, the login keychain on macOS), stored per base URL. A key is never
 * written to the workspace. (The desktop app keeps its keys with Electron's safeStorage instead.)
 */
import { spawnSync } from 'node:child_process';
import { DocTuneError } from '../errors.js';

const SERVICE = 'doctune';

function run(cmd: string, args: string[], input?: string): { ok: boolean; out: string; missing: boolean } {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', timeout: 15_000 });
  const missing = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
  return { ok: r.status === 0, out: (r.stdout ?? '').trim(), missing };
}

function keychainTool(): 'secret-tool' | 'security' | null {
  if (process.platform === 'darwin') return 'security';
  if (process.platform === 'linux' && !run('secret-tool', ['--version']).missing) return 'secret-tool';
  return null;
}

export function keychainAvailable(): boolean {
  return keychainTool() !== null;
}

export function keychainGet(baseUrl: string): string | null {
  const tool = keychainTool();
  if (tool === 'secret-tool') {
    const r = run('secret-tool', ['lookup', 'service', SERVICE, 'account', baseUrl]);
    return r.ok && r.out ? r.out : null;
  }
  if (tool === 'security') {
    const r = run('security', ['find-generic-password', '-s', SERVICE, '-a', baseUrl, '-w']);
    return r.ok && r.out ? r.out : null;
  }
  return null;
}

export function keychainSet(baseUrl: string, key: string): void {
  const tool = keychainTool();
  if (!tool) throw new DocTuneError('BAD_ARGUMENT', 'no OS keychain here (Linux needs libsecret-tools for secret-tool); pass the key in an environment variable with --api-key-env');
  const r = tool === 'secret-tool'
    ? run('secret-tool', ['store', '--label', `DocTune API key for ${baseUrl}`, 'service', SERVICE, 'account', baseUrl], key)
    : run('security', ['add-generic-password', '-U', '-s', SERVICE, '-a', baseUrl, '-w', key]);
  if (!r.ok) throw new DocTuneError('INTERNAL', `the keychain did not store the key for ${baseUrl}`);
}

export function keychainDelete(baseUrl: string): boolean {
  const tool = keychainTool();
  if (tool === 'secret-tool') return run('secret-tool', ['clear', 'service', SERVICE, 'account', baseUrl]).ok;
  if (tool === 'security') return run('security', ['delete-generic-password', '-s', SERVICE, '-a', baseUrl]).ok;
  return false;
}

/**
 * The key for an endpoint: the named environment variable (which must then be set), else the keychain's
 * entry for the base URL, else none (local servers such as Ollama or llama.cpp's need none).
 */
export function resolveApiKey(baseUrl: string, envVar?: string): string | undefined {
  if (envVar) {
    const v = process.env[envVar];
    if (!v) throw new DocTuneError('BAD_ARGUMENT', `the environment variable ${envVar} (--api-key-env) is not set`);
    return v;
  }
  return keychainGet(baseUrl) ?? undefined;
}

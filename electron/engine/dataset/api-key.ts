/**
 * API keys for teacher endpoints: from an environment variable, or from the operating system's keychain
 * (through @napi-rs/keyring: the macOS Keychain, Windows Credential Manager, the Secret Service or kernel
 * keyring on Linux), stored per base URL. A key is never written to the workspace, nor put on a command line.
 */
import { createRequire } from 'node:module';
import { DocTuneError } from '../errors.js';
import { log } from '../log.js';

const SERVICE = 'doctune';

interface KeyringEntry {
  getPassword(): string | null | undefined;
  setPassword(password: string): void;
  deletePassword(): boolean;
}
type EntryClass = new (service: string, account: string) => KeyringEntry;

// Loaded on first use: most commands never touch a key, and a native module costs start-up time.
let entryClass: EntryClass | null = null;
function entry(account: string): KeyringEntry {
  entryClass ??= (createRequire(import.meta.url)('@napi-rs/keyring') as { Entry: EntryClass }).Entry;
  return new entryClass(SERVICE, account);
}

let available: boolean | null = null;

/**
 * Whether this machine has a keychain DocTune may write to (macOS Keychain, Windows Credential Manager, the
 * Secret Service or kernel keyring on Linux): found out once, by storing and removing a probe entry.
 */
export function keychainAvailable(): boolean {
  if (available !== null) return available;
  try {
    const probe = entry('__doctune-probe__');
    probe.setPassword('probe');
    probe.deletePassword();
    available = true;
  } catch (err) {
    log.info('no usable OS keychain', { err });
    available = false;
  }
  return available;
}

export function keychainGet(baseUrl: string): string | null {
  try {
    return entry(baseUrl).getPassword() ?? null;
  } catch (err) {
    log.warn('reading a key from the OS keychain failed', { baseUrl, err });
    return null;
  }
}

export function keychainSet(baseUrl: string, key: string): void {
  if (!keychainAvailable()) {
    throw new DocTuneError('BAD_ARGUMENT', 'no OS keychain here (on Linux: a Secret Service such as GNOME Keyring or KWallet); pass the key in an environment variable with --api-key-env');
  }
  try {
    entry(baseUrl).setPassword(key);
  } catch (err) {
    throw new DocTuneError('INTERNAL', `the keychain did not store the key for ${baseUrl}: ${(err as Error).message}`, { cause: err });
  }
}

export function keychainDelete(baseUrl: string): boolean {
  try {
    return entry(baseUrl).deletePassword();
  } catch (err) {
    log.info('no key to remove from the OS keychain', { baseUrl, err });
    return false;
  }
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

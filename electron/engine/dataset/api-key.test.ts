import { describe, expect, it } from 'vitest';
import { keychainAvailable, keychainDelete, keychainGet, keychainSet, resolveApiKey } from './api-key.js';

describe('API keys in the OS keychain', () => {
  const url = `https://api.example.invalid/v1/${process.pid}-${Date.now()}`;

  it(keychainAvailable() ? 'stores, reads and removes a key per base URL' : 'says there is no keychain and how to pass a key instead (this machine has none)', () => {
    if (keychainAvailable()) {
      keychainSet(url, 'sk-test-1');
      expect(keychainGet(url)).toBe('sk-test-1');
      expect(resolveApiKey(url)).toBe('sk-test-1');
      expect(keychainDelete(url)).toBe(true);
      expect(keychainGet(url)).toBeNull();
    } else {
      expect(() => keychainSet(url, 'sk-test-1')).toThrow(/no OS keychain here.*--api-key-env/);
      expect(keychainGet(url)).toBeNull();
      expect(keychainDelete(url)).toBe(false);
    }
  });

  it('takes a named environment variable first, and refuses one that is not set', () => {
    process.env.DOCTUNE_TEST_KEY = 'sk-env';
    try {
      expect(resolveApiKey(url, 'DOCTUNE_TEST_KEY')).toBe('sk-env');
    } finally {
      delete process.env.DOCTUNE_TEST_KEY;
    }
    expect(() => resolveApiKey(url, 'DOCTUNE_TEST_KEY')).toThrow(/DOCTUNE_TEST_KEY.*not set/);
  });
});

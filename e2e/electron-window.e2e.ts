import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { _electron as electron } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, tempDir } from '../electron/engine/testing/corpus.js';
import { OUTPUT } from './helpers.js';

/** Electron's binary is downloaded by its postinstall, which cannot run where only the npm registry is reachable. */
function electronBinary(): string | null {
  try {
    const bin = createRequire(import.meta.url)('electron') as unknown as string;
    return typeof bin === 'string' && fs.existsSync(bin) ? bin : null;
  } catch {
    return null;
  }
}

const binary = electronBinary();
if (!binary) {
  console.warn('SKIPPED electron-window e2e: the Electron binary is not installed (ELECTRON_SKIP_BINARY_DOWNLOAD or no network); the browser-mode e2e covers the UI.');
}

describe('desktop window (Electron)', () => {
  it.skipIf(!binary)('opens the window sandboxed with the preload bridge only', async () => {
    const home = tempDir('electron-home');
    const app = await electron.launch({
      executablePath: binary!,
      args: [path.join(REPO_ROOT, '.vite', 'build', 'main.js')],
      env: { ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), ELECTRON_DISABLE_SECURITY_WARNINGS: 'false' },
    });
    try {
      const win = await app.firstWindow();
      await win.getByTestId('dropzone').waitFor();
      expect(await win.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined');
      expect(await win.evaluate(() => typeof (globalThis as { process?: unknown }).process)).toBe('undefined');
      expect(await win.evaluate(() => Object.keys((globalThis as unknown as { doctune: object }).doctune).sort())).toEqual(['invoke', 'on', 'pathForFile']);
      const info = await win.evaluate(() => (globalThis as unknown as { doctune: { invoke: (c: string, a: object) => Promise<{ path: string }> } }).doctune.invoke('workspace.info', {}));
      expect(info.path).toContain(home);
      // The app keeps its log in the user-data folder and can open that folder.
      const logs = await win.evaluate(() => (globalThis as unknown as { doctune: { invoke: (c: string, a: object) => Promise<{ folder: string | null; canOpen: boolean }> } }).doctune.invoke('app.logs', {}));
      expect(logs).toEqual({ folder: path.join(home, '.config', 'DocTune', 'logs'), canOpen: true });
      await win.screenshot({ path: path.join(OUTPUT, 'electron-window.png') });
    } finally {
      await app.close();
    }
  });
});

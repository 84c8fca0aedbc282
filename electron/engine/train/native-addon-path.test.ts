import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addonPath } from './native-addon.js';

describe('where the native addon is loaded from', () => {
  it("an installed Windows app: this platform's prebuild in app.asar.unpacked, spaces and all", () => {
    const unpacked = 'C:\\Program Files\\DocTune\\resources\\app.asar.unpacked\\native\\prebuilds\\win32-x64\\doctune_native.node';
    const found = addonPath({ from: 'C:\\Program Files\\DocTune\\resources\\app.asar\\.vite\\build', exists: (f) => f === unpacked, pathApi: path.win32, platform: 'win32', arch: 'x64' });
    expect(found).toBe(unpacked);
  });

  it('a macOS app bundle with a non-ASCII folder: the arm64 prebuild, not the x64 one', () => {
    const root = '/Applications/文档 工具/DocTune.app/Contents/Resources/app.asar.unpacked';
    const files = new Set([`${root}/native/prebuilds/darwin-x64/doctune_native.node`, `${root}/native/prebuilds/darwin-arm64/doctune_native.node`]);
    const found = addonPath({ from: '/Applications/文档 工具/DocTune.app/Contents/Resources/app.asar/.vite/build', exists: (f) => files.has(f), pathApi: path.posix, platform: 'darwin', arch: 'arm64' });
    expect(found).toBe(`${root}/native/prebuilds/darwin-arm64/doctune_native.node`);
  });

  it('a source checkout: the build output when there is no prebuild yet', () => {
    const built = '/home/me/DocTune/native/build/cmake/Release/doctune_native.node';
    expect(addonPath({ from: '/home/me/DocTune/electron/engine/train', exists: (f) => f === built, pathApi: path.posix, platform: 'linux', arch: 'x64' })).toBe(built);
  });
});

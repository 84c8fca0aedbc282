import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module script without type declarations
import { folderCycles, folderOf } from './folder-cycles.mjs';

describe('folder cycles', () => {
  it('names the folder of engine stages, the engine core, and the other processes', () => {
    expect(folderOf('electron/engine/errors.ts')).toBe('core');
    expect(folderOf('electron/engine/store/workspace.ts')).toBe('store');
    expect(folderOf('electron/engine/models/gguf/gguf-reader.ts')).toBe('models');
    expect(folderOf('electron/main/main.ts')).toBe('main');
    expect(folderOf('node_modules/zod/index.js')).toBeNull();
  });

  it('finds cycles through several folders, not only pairs, and none in a layered graph', () => {
    const layered = [{ from: 'api', to: 'store' }, { from: 'ingest', to: 'store' }, { from: 'store', to: 'models' }, { from: 'api', to: 'ingest' }];
    expect(folderCycles(layered)).toEqual([]);
    expect(folderCycles([...layered, { from: 'models', to: 'ingest' }])).toEqual([['ingest', 'models', 'store']]);
    expect(folderCycles([{ from: 'a', to: 'b' }, { from: 'b', to: 'a' }, { from: 'c', to: 'd' }, { from: 'd', to: 'c' }])).toEqual([['a', 'b'], ['c', 'd']]);
  });
});

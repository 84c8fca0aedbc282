import { describe, expect, it } from 'vitest';
import { workerEntry } from './worker-entry.js';

describe('a worker entry beside its module', () => {
  it('is a Windows file path inside an installed app, spaces and all', () => {
    const url = 'file:///C:/Program%20Files/DocTune/resources/app.asar.unpacked/dist/engine/chat/chat-host.js';
    expect(workerEntry(url, 'chat-worker', { windows: true })).toEqual({
      file: 'C:\\Program Files\\DocTune\\resources\\app.asar.unpacked\\dist\\engine\\chat\\chat-worker.js',
      execArgv: [],
    });
  });

  it('decodes non-ASCII folder names, and runs the TypeScript source under tsx', () => {
    const url = new URL('file:///home/李雷/文档 工具/electron/engine/train/train-supervisor.ts').href;
    expect(url).toContain('%E6%9D%8E'); // what a URL's pathname would have kept
    expect(workerEntry(url, 'train-worker', { windows: false })).toEqual({ file: '/home/李雷/文档 工具/electron/engine/train/train-worker.ts', execArgv: ['--import', 'tsx'] });
  });

  it('finds this machine\'s real worker files from the modules that start them', async () => {
    const fs = await import('node:fs');
    for (const [module, worker] of [['./chat/chat-host.ts', 'chat-worker'], ['./train/train-supervisor.ts', 'train-worker'], ['./models/llama-host.ts', 'llama-worker']]) {
      expect(fs.existsSync(workerEntry(new URL(module!, import.meta.url).href, worker!).file)).toBe(true);
    }
  });
});

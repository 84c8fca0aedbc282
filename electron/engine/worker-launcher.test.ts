import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './testing/corpus.js';
import { forkLauncher } from './worker-launcher.js';

describe('the worker launcher', () => {
  it('sending to a worker that has just died is harmless: its exit is the report', async () => {
    const dir = tempDir('launcher');
    const file = path.join(dir, 'dies.mjs');
    fs.writeFileSync(file, 'setTimeout(() => process.exit(3), 20);\n');
    const w = forkLauncher(file, [], process.env);
    const exit = new Promise<number | null>((resolve) => w.onExit((code) => resolve(code)));
    // Messages before, across and after the moment it dies: none may throw here or later.
    const until = Date.now() + 300;
    while (Date.now() < until) {
      w.send({ type: 'ping', at: Date.now() });
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(await exit).toBe(3);
    expect(w.exited()).toBe(true);
    w.send({ type: 'after' });
    w.kill();
    await new Promise((r) => setTimeout(r, 50));
  });

  it('a worker file that cannot start ends with an exit, not an exception', async () => {
    const w = forkLauncher(path.join(tempDir('launcher-missing'), 'missing.mjs'), [], process.env);
    const code = await new Promise<number | null>((resolve) => w.onExit((c) => resolve(c)));
    expect(code).not.toBe(0);
    w.send({ type: 'late' });
  });
});

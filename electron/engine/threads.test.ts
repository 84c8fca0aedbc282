import { spawn } from 'node:child_process';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { defaultThreads, idleCpus, physicalCores, resolveThreads } from './threads.js';

describe('default thread counts', () => {
  it('counts physical cores, at most the logical CPUs', () => {
    expect(physicalCores()).toBeGreaterThanOrEqual(1);
    expect(physicalCores()).toBeLessThanOrEqual(os.availableParallelism());
  });

  it('leaves out a core that another program keeps busy', async () => {
    const busy = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 300));
      expect(await idleCpus()).toBeLessThan(os.cpus().length - 0.5);
      const n = await defaultThreads();
      expect(n).toBeGreaterThanOrEqual(1);
      if (physicalCores() >= 2) expect(n).toBeLessThanOrEqual(physicalCores() - 1);
    } finally {
      busy.kill();
    }
  });

  it('takes a count given, else works one out', async () => {
    expect(await resolveThreads(3)).toBe(3);
    expect(await resolveThreads(async () => 2)).toBe(2);
    expect(await resolveThreads(undefined)).toBeGreaterThanOrEqual(1);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { closeLogging, configureLogging, log, logFile, logged } from './log.js';
import { tempDir } from './testing/corpus.js';

const lines = (file: string): Record<string, unknown>[] => fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('the log', () => {
  afterEach(() => closeLogging());

  it('writes nothing until configured, then JSON lines with the time, the process and the context', async () => {
    log.warn('not written anywhere');
    expect(logFile()).toBeNull();
    const file = path.join(tempDir('log'), 'logs dir', 'doctune.log');
    configureLogging(file, { process: 'cli' });
    expect(logFile()).toBe(file);
    log.info('imported', { documents: 3 });
    await Promise.resolve(Promise.reject(new Error('EBUSY: the index is locked'))).catch(logged('compacting the workspace', { workspace: '/w' }));
    await closeLogging();
    const [info, warn] = lines(file);
    expect(info).toMatchObject({ level: 30, msg: 'imported', documents: 3, process: 'cli', pid: process.pid });
    expect(typeof info!.time).toBe('string');
    expect(warn).toMatchObject({ level: 40, msg: 'compacting the workspace failed', workspace: '/w', err: { message: 'EBUSY: the index is locked', type: 'Error' } });
    expect(String((warn!.err as { stack: string }).stack)).toContain('log.test.ts');
  });

  it('rotates the file and keeps five', async () => {
    const dir = tempDir('log-rotate');
    const file = path.join(dir, 'doctune.log');
    configureLogging(file, { size: '1K' });
    for (let i = 0; i < 400; i++) {
      log.info('a line long enough to fill a kilobyte in a few dozen lines', { i });
      // Rotation happens between writes: give the stream its turn.
      if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await closeLogging();
    // The current file, the rotated ones (time-stamped), and rotating-file-stream's history of them.
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('doctune.log'));
    expect(files).toContain('doctune.log');
    expect(files.length).toBeGreaterThan(2);
    expect(files.length).toBeLessThanOrEqual(6);
  });
});

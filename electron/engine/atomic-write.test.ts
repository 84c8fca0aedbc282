import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './testing/corpus.js';
import { writeFileAtomic } from './atomic-write.js';

describe('records written whole', () => {
  it('many writers of one record at once: one of them wins whole, no temporary file is left', async () => {
    const dir = tempDir('atomic');
    const file = path.join(dir, 'pipeline.json');
    const bodies = Array.from({ length: 40 }, (_, i) => JSON.stringify({ writer: i, pad: 'x'.repeat(10_000 + i) }));
    await Promise.all(bodies.map((b) => writeFileAtomic(file, b)));
    expect(bodies).toContain(fs.readFileSync(file, 'utf8'));
    expect(fs.readdirSync(dir)).toEqual(['pipeline.json']);
  });

  it('a write that fails leaves the old record and no temporary file', async () => {
    const dir = tempDir('atomic-fail');
    const file = path.join(dir, 'run.json');
    await writeFileAtomic(file, 'old');
    // The target is now a folder: the rename fails after the data was written.
    fs.rmSync(file);
    fs.mkdirSync(file);
    fs.writeFileSync(path.join(file, 'inside'), 'x');
    await expect(writeFileAtomic(file, 'new')).rejects.toThrow();
    expect(fs.readdirSync(dir)).toEqual(['run.json']);
  });
});

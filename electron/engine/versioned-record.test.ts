import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { tempDir } from './testing/corpus.js';
import { recordFormat } from './versioned-record.js';

const Thing = z.object({ version: z.literal(2), name: z.string().min(1), count: z.number().int().default(0) });

describe('a versioned record', () => {
  const dir = tempDir('versioned-record');
  const file = path.join(dir, 'thing.json');
  // Version 1 called the name `title`.
  const format = recordFormat('thing.json', Thing, 2, (raw) => ({ ...raw, name: raw.name ?? raw.title, version: 2 }));

  it('writes what it validates and reads it back; no file is null', async () => {
    expect(await format.read(path.join(dir, 'none.json'))).toBeNull();
    expect(await format.write(file, { name: 'a' })).toEqual({ version: 2, name: 'a', count: 0 });
    expect(await format.read(file)).toEqual({ version: 2, name: 'a', count: 0 });
    expect(fs.readFileSync(file, 'utf8').endsWith('}\n')).toBe(true);
  });

  it('brings an older record up to date, and refuses a damaged one naming the file and the field', async () => {
    fs.writeFileSync(file, JSON.stringify({ title: 'old' }));
    expect(await format.read(file)).toEqual({ version: 2, name: 'old', count: 0 });
    fs.writeFileSync(file, JSON.stringify({ version: 2, name: 'x', count: 1.5 }));
    await expect(format.read(file)).rejects.toMatchObject({ code: 'WORKSPACE', path: file, message: expect.stringMatching(/^thing\.json is damaged: count: /) });
    fs.writeFileSync(file, '{"version": 2, "name": ');
    await expect(format.read(file)).rejects.toMatchObject({ code: 'WORKSPACE', path: file, message: expect.stringMatching(/^thing\.json is damaged/) });
  });

  it('never writes a record that would not read back, and leaves the old one', async () => {
    await format.write(file, { name: 'kept' });
    await expect(format.write(file, { name: '' })).rejects.toThrow();
    expect((await format.read(file))?.name).toBe('kept');
  });
});

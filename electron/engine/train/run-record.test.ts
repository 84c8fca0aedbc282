import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../testing/corpus.js';
import { parseRunRecord, readRunRecord, RUN_RECORD_JSON_SCHEMA, RUN_RECORD_VERSION, writeRunRecord } from './run-record.js';

describe('run.json, the record of a training run', () => {
  const dir = tempDir('run-record');

  it('is written versioned and read back the same, with the fields it does not know kept', async () => {
    const file = path.join(dir, 'run.json');
    const held = [[{ role: 'user' as const, content: 'Who may remove a lock?' }, { role: 'assistant' as const, content: 'Only the employee who applied it.' }]];
    await writeRunRecord(file, { adapter: '/r/adapter.gguf', base_model: { path: '/m/base.gguf', sha256: 'ab', arch: 'llama' }, finished_at: '2026-12-04T00:00:00.000Z', config: { rank: 8, alpha: 16, targets: ['attn_q'] }, held_out: held, losses: { train: [2.5, 1.5] } });
    const back = await readRunRecord(file);
    expect(back).toMatchObject({ version: RUN_RECORD_VERSION, adapter: '/r/adapter.gguf', config: { rank: 8 }, held_out: held, losses: { train: [2.5, 1.5] } });
  });

  it('reads a record from before versions as version 1, and no file as none', async () => {
    expect(parseRunRecord({ adapter: 'a.gguf', base_model: { path: 'b.gguf' }, finished_at: 'x' }, 'run.json')).toMatchObject({ version: 1, held_out: [] });
    expect(await readRunRecord(path.join(dir, 'missing', 'run.json'))).toBeNull();
  });

  it('refuses a damaged record by naming the file and the field, and never writes one', async () => {
    const file = path.join(dir, 'damaged.json');
    fs.writeFileSync(file, '{"adapter": "a.gguf", "base_model": {"path": 3}, "finished_at": "x"}');
    await expect(readRunRecord(file)).rejects.toMatchObject({ code: 'WORKSPACE', path: file, message: expect.stringMatching(/run\.json is damaged: base_model\.path/) });
    fs.writeFileSync(file, '{"adapter": ');
    await expect(readRunRecord(file)).rejects.toMatchObject({ code: 'WORKSPACE', path: file });
    const never = path.join(dir, 'never.json');
    await expect(writeRunRecord(never, { adapter: '', base_model: { path: 'b' }, finished_at: 'x' })).rejects.toThrow();
    expect(fs.existsSync(never)).toBe(false);
  });

  it('has a JSON Schema derived from the same definition', () => {
    expect(RUN_RECORD_JSON_SCHEMA).toMatchObject({ type: 'object', required: expect.arrayContaining(['version', 'adapter', 'base_model']) });
    expect((RUN_RECORD_JSON_SCHEMA as { properties: Record<string, unknown> }).properties).toHaveProperty('held_out');
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../testing/corpus.js';
import { PIPELINE_STATE_VERSION, readPipelineState, writePipelineState } from './pipeline-state.js';

describe('pipeline.json, the record a pipeline run resumes from', () => {
  const dir = tempDir('pipeline-state');

  it('is written versioned and read back; a record from before versions reads as version 1; none is none', async () => {
    const file = path.join(dir, 'pipeline.json');
    const state = { version: PIPELINE_STATE_VERSION, model: '/m/base.gguf', stages: { ingest: { at: '2026-12-04T00:00:00.000Z', summary: { documents: 3 } } }, train: { epochs: 2, rank: 8 }, choices: { teacher: 'extractive' as const, epochs: 2 } };
    await writePipelineState(file, state);
    expect(await readPipelineState(file)).toEqual(state);
    const old = path.join(dir, 'old.json');
    fs.writeFileSync(old, JSON.stringify({ model: '/m/base.gguf', stages: {} }));
    expect(await readPipelineState(old)).toMatchObject({ version: 1, model: '/m/base.gguf' });
    expect(await readPipelineState(path.join(dir, 'none.json'))).toBeNull();
  });

  it('refuses a damaged record by naming the file and what is wrong', async () => {
    const file = path.join(dir, 'bad.json');
    fs.writeFileSync(file, JSON.stringify({ model: '/m', stages: { sing: { at: 'x' } } }));
    await expect(readPipelineState(file)).rejects.toMatchObject({ code: 'WORKSPACE', path: file, message: expect.stringMatching(/pipeline\.json is damaged/) });
    fs.writeFileSync(file, JSON.stringify({ model: '/m', stages: {}, train: { epochs: -1 } }));
    await expect(readPipelineState(file)).rejects.toMatchObject({ message: expect.stringMatching(/train\.epochs/) });
  });
});

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { describe, expect, it } from 'vitest';
import { DocTuneError } from '../errors.js';
import { corpusFile, REPO_ROOT, tempDir, TINY_MODEL } from '../testing/corpus.js';
import { runPipeline, type PipelineProgress } from './pipeline.js';

describe('doctune pipeline: one document to a tested adapter', () => {
  const out = tempDir('pipeline');
  const doc = corpusFile('osha_factsheet_lockout_tagout.pdf');

  it('an interrupted run resumes where it stopped', async () => {
    const controller = new AbortController();
    const seen: PipelineProgress[] = [];
    const first = runPipeline({
      inputs: [doc], modelPath: TINY_MODEL, outDir: out, device: 'cpu', train: { epochs: 2, batch: 1, lr: 2e-3 }, signal: controller.signal,
      onProgress: (p) => {
        seen.push(p);
        // Stop once training has taken two steps: it checkpoints and ends at a step boundary.
        if (p.stage === 'train' && p.status === 'progress' && p.event.type === 'step' && p.event.step === 2) controller.abort();
      },
    });
    await expect(first).rejects.toThrow(DocTuneError);
    await expect(first).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(seen.filter((p) => p.status === 'done').map((p) => p.stage)).toEqual(['ingest', 'generate', 'accept']);

    const again: PipelineProgress[] = [];
    // Other training options on the rerun do not break the resume: the run keeps those it started with.
    const r = await runPipeline({ inputs: [doc], modelPath: TINY_MODEL, outDir: out, device: 'cpu', train: { epochs: 5, batch: 1, lr: 2e-3 }, onProgress: (p) => again.push(p) });
    expect(again.filter((p) => p.status === 'skipped').map((p) => p.stage)).toEqual(['ingest', 'generate', 'accept']);
    const start = again.find((p) => p.stage === 'train' && p.status === 'progress' && p.event.type === 'start');
    // The cancel reaches the trainer while it may be inside the next step: it ends that step, checkpoints it and
    // says so, so the run resumes after the last step the first run reported.
    const lastStep = Math.max(...seen.flatMap((p) => (p.stage === 'train' && p.status === 'progress' && p.event.type === 'step' ? [p.event.step] : [])));
    expect(lastStep).toBeGreaterThanOrEqual(2);
    expect(start && start.status === 'progress' && start.stage === 'train' && start.event.type === 'start' && start.event.resumedAt).toBe(lastStep);
    expect(r.pairs).toBeGreaterThan(0);
    expect(r.scores.n).toBeGreaterThan(0);
    expect(fs.readFileSync(r.report, 'utf8')).toContain('<svg');
    expect(fs.readFileSync(r.modelfile, 'utf8')).toContain(`ADAPTER ${r.adapter}`);
    expect(path.dirname(r.report)).toBe(out);

    // node-llama-cpp loads the adapter the pipeline wrote.
    const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, logger: () => undefined });
    try {
      const model = await llama.loadModel({ modelPath: TINY_MODEL, gpuLayers: 0 });
      const ctx = await model.createContext({ threads: 1, contextSize: 128, lora: { adapters: [{ filePath: r.adapter }] } });
      await ctx.dispose();
      await model.dispose();
    } finally {
      await llama.dispose();
    }
  });

  it('the CLI finds every stage done and prints the result', async () => {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'electron/engine/cli/bin.ts'), 'pipeline', doc, '--model', TINY_MODEL, '--out', out, '--device', 'cpu', '--epochs', '2', '--batch', '1'], { cwd: REPO_ROOT });
    expect(stderr).toContain('== train: done in an earlier run');
    expect(stdout).toMatch(/adapter: .*\.gguf/);
  });
});

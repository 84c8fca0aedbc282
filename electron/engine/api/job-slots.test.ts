import { describe, expect, it } from 'vitest';
import { DocTuneError } from '../errors.js';
import { BusyError, JobSlots, type JobKind } from './job-slots.js';

/** A job that runs until `finish()` is called, recording its abort. */
function gate(): { promise: Promise<void>; finish: () => void } {
  let finish = (): void => undefined;
  const promise = new Promise<void>((resolve) => (finish = resolve));
  return { promise, finish };
}

describe('the background job slots', () => {
  it('refuses a clashing job with BUSY, naming the work in the way, and frees the slot when the job ends', async () => {
    const slots = new JobSlots();
    const g = gate();
    const { jobId } = await slots.start({ kind: 'generate', run: () => g.promise });
    await expect(slots.start({ kind: 'pipeline', run: async () => undefined })).rejects.toMatchObject({ code: 'BUSY', busyWith: 'generate', message: expect.stringMatching(/QA pairs are being generated/) });
    await expect(slots.start({ kind: 'generate', run: async () => undefined })).rejects.toBeInstanceOf(BusyError);
    // Unrelated work goes ahead: an evaluation, chat answers side by side.
    await slots.start({ kind: 'evaluate', run: async () => undefined });
    await slots.start({ kind: 'chat', run: () => g.promise });
    await slots.start({ kind: 'chat', run: () => g.promise });
    expect(slots.current('generate')?.id).toBe(jobId);
    g.finish();
    await slots.close();
    expect(slots.runningKinds().size).toBe(0);
    await expect(slots.start({ kind: 'pipeline', run: async () => undefined })).resolves.toMatchObject({ jobId: expect.any(String) });
  });

  it('counts work outside the slots (a folder sync) and keeps one download per model', async () => {
    let outside: JobKind[] = ['sync'];
    const slots = new JobSlots(() => outside);
    await expect(slots.start({ kind: 'pipeline', run: async () => undefined })).rejects.toMatchObject({ busyWith: 'sync' });
    outside = [];
    const g = gate();
    await slots.start({ kind: 'download', key: 'qwen3-4b', run: () => g.promise });
    await expect(slots.start({ kind: 'download', key: 'qwen3-4b', run: async () => undefined })).rejects.toMatchObject({ code: 'BUSY', message: expect.stringMatching(/already being downloaded/) });
    await slots.start({ kind: 'download', key: 'gemma-3-1b', run: () => g.promise });
    g.finish();
    await slots.close();
  });

  it("answers a set-up failure to the request, frees the slot, and does not run the job", async () => {
    const slots = new JobSlots();
    let ran = false;
    await expect(slots.start({ kind: 'evaluate', setup: async () => { throw new DocTuneError('BAD_ARGUMENT', 'choose a model'); }, run: async () => { ran = true; } })).rejects.toThrow('choose a model');
    expect(ran).toBe(false);
    expect(slots.isRunning('evaluate')).toBe(false);
  });

  it('takes the slot before set-up waits: two quick requests cannot both start', async () => {
    const slots = new JobSlots();
    const g = gate();
    const first = slots.start({ kind: 'evaluate', setup: () => g.promise.then(() => 'ready'), run: async () => undefined });
    await expect(slots.start({ kind: 'evaluate', run: async () => undefined })).rejects.toMatchObject({ code: 'BUSY' });
    g.finish();
    expect((await first).value).toBe('ready');
    await slots.close();
  });

  it('lets a job free its slot before its end event, cancels by id and kind, and waits on close', async () => {
    const slots = new JobSlots();
    const order: string[] = [];
    const { jobId } = await slots.start({
      kind: 'pipeline',
      run: async (_value, job) => {
        await new Promise<void>((resolve) => job.signal.addEventListener('abort', () => resolve()));
        job.release();
        order.push(`ended, pipeline free: ${!slots.isRunning('pipeline')}`);
      },
    });
    expect(slots.cancel(jobId, 'evaluate')).toBe(false);
    expect(slots.cancel('no such job', 'pipeline')).toBe(false);
    expect(slots.cancel(jobId, 'pipeline')).toBe(true);
    await slots.close();
    expect(order).toEqual(['ended, pipeline free: true']);
  });
  it('runs foreground work (a command) in the same slots: its result or error returned, BUSY against the background, Ctrl-C aborting', async () => {
    const slots = new JobSlots();
    await expect(slots.run('generate', async () => 42)).resolves.toBe(42);
    await expect(slots.run('evaluate', async () => { throw new DocTuneError('MODEL', 'no model'); })).rejects.toMatchObject({ code: 'MODEL' });
    expect(slots.runningKinds().size).toBe(0);
    const g = gate();
    const running = slots.run('pipeline', () => g.promise);
    await new Promise((r) => setImmediate(r));
    await expect(slots.start({ kind: 'generate', run: async () => undefined })).rejects.toMatchObject({ code: 'BUSY', busyWith: 'pipeline' });
    g.finish();
    await running;
    const stop = new AbortController();
    const aborted = slots.run('generate', (job) => new Promise<string>((resolve) => job.signal.addEventListener('abort', () => resolve('stopped'))), { signal: stop.signal });
    await new Promise((r) => setImmediate(r));
    stop.abort();
    await expect(aborted).resolves.toBe('stopped');
    expect(slots.runningKinds().size).toBe(0);
  });
});

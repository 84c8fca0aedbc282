import fs from 'node:fs/promises';
import { z } from 'zod';
import { DocTuneError } from '../errors.js';
import { writeFileAtomic } from '../atomic-write.js';

/** "DTCKPT" + version: a checkpoint from another format is refused, never misread. */
const MAGIC = Buffer.from('DTCKPT\0\0', 'latin1');
export const CHECKPOINT_VERSION = 1;

export interface CheckpointState {
  /** Optimizer steps done. */
  step: number;
  /** Where the data order stands: epoch and position within its (seeded) order. */
  epoch: number;
  index: number;
  /** Fingerprint of what must not change across a resume (model, data, hyperparameters). */
  fingerprint: string;
  trainLosses: number[];
  evalLosses: number[];
  params: Float32Array;
  m: Float32Array;
  v: Float32Array;
  optimizerStep: number;
  /** The products' precision the run trained at (f32, f16, bf16); absent in checkpoints from before it was kept. */
  precision?: string;
}

/** The JSON header between the fixed fields and the three arrays (n floats each: parameters, Adam's m and v). */
const Header = z.object({
  step: z.number().int().nonnegative(),
  epoch: z.number().int().nonnegative(),
  index: z.number().int().nonnegative(),
  fingerprint: z.string(),
  trainLosses: z.array(z.number().nullable().transform((x) => x ?? NaN)),
  evalLosses: z.array(z.number().nullable().transform((x) => x ?? NaN)),
  optimizerStep: z.number().int().nonnegative(),
  precision: z.string().optional(),
  n: z.number().int().nonnegative(),
});

export async function writeCheckpoint(file: string, s: CheckpointState): Promise<void> {
  const header = Buffer.from(
    JSON.stringify({ step: s.step, epoch: s.epoch, index: s.index, fingerprint: s.fingerprint, trainLosses: s.trainLosses, evalLosses: s.evalLosses, optimizerStep: s.optimizerStep, precision: s.precision, n: s.params.length }),
    'utf8',
  );
  const fixed = Buffer.alloc(8);
  fixed.writeUInt32LE(CHECKPOINT_VERSION, 0);
  fixed.writeUInt32LE(header.length, 4);
  const f32 = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  await writeFileAtomic(file, Buffer.concat([MAGIC, fixed, header, f32(s.params), f32(s.m), f32(s.v)]));
}

export async function readCheckpoint(file: string): Promise<CheckpointState> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DocTuneError('NOT_FOUND', code === 'ENOENT'
      ? 'no checkpoint to resume from here: a run saves one every --checkpoint-every steps and when it is stopped (Ctrl-C); give the folder of the run to continue'
      : `cannot read the checkpoint: ${code ?? (err as Error).message}`, { path: file });
  }
  if (buf.length < 16 || !buf.subarray(0, 8).equals(MAGIC)) throw new DocTuneError('BAD_ARGUMENT', 'not a DocTune checkpoint', { path: file });
  const version = buf.readUInt32LE(8);
  if (version !== CHECKPOINT_VERSION) throw new DocTuneError('BAD_ARGUMENT', `checkpoint format ${version} is not supported (expected ${CHECKPOINT_VERSION})`, { path: file });
  const headerLen = buf.readUInt32LE(12);
  if (16 + headerLen > buf.length) throw new DocTuneError('BAD_ARGUMENT', 'checkpoint is truncated', { path: file });
  let h: z.infer<typeof Header>;
  try {
    h = Header.parse(JSON.parse(buf.toString('utf8', 16, 16 + headerLen)));
  } catch (err) {
    const issue = (err as z.ZodError).issues?.[0];
    throw new DocTuneError('BAD_ARGUMENT', `checkpoint header is damaged: ${issue ? `${issue.path.join('.')}: ${issue.message}` : (err as Error).message}`, { path: file, cause: err });
  }
  const start = 16 + headerLen;
  if (buf.length !== start + 12 * h.n) throw new DocTuneError('BAD_ARGUMENT', 'checkpoint is truncated', { path: file });
  const arr = (k: number): Float32Array => new Float32Array(buf.buffer.slice(buf.byteOffset + start + k * 4 * h.n, buf.byteOffset + start + (k + 1) * 4 * h.n));
  return {
    step: h.step, epoch: h.epoch, index: h.index, fingerprint: h.fingerprint, trainLosses: h.trainLosses, evalLosses: h.evalLosses, optimizerStep: h.optimizerStep,
    params: arr(0), m: arr(1), v: arr(2), ...(h.precision !== undefined ? { precision: h.precision } : {}),
  };
}

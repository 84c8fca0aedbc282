/** A Python with PyTorch for the reference tests: $DOCTUNE_PYTHON, python3 on the PATH, or Debian's own. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REFERENCE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'torch_reference.py');

let found: string | null | undefined;

export function torchPython(): string | null {
  if (found !== undefined) return found;
  const candidates = [process.env.DOCTUNE_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => Boolean(c));
  found = candidates.find((py) => spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) ?? null;
  return found;
}

/** The reference decoder's next-token probabilities for an HF-layout checkpoint, with a PEFT adapter if given. */
export function torchNextTokenProbabilities(checkpointDir: string, tokens: number[], adapterDir?: string): Float64Array {
  const py = torchPython();
  if (!py) throw new Error('no Python with torch');
  const r = spawnSync(py, [REFERENCE, checkpointDir, adapterDir ?? '-', ...tokens.map(String)], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
  });
  if (r.status !== 0) throw new Error(`torch_reference.py failed (${r.status}): ${r.stderr}`);
  return Float64Array.from(JSON.parse(r.stdout) as number[]);
}

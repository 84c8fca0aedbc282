/**
 * The compute devices training can use (GPUs through ggml's CUDA, Vulkan or Metal backends, and the CPU),
 * probed in the training worker process: opening a GPU driver can abort, and that must not end the app.
 */
import { DocTuneError, type ErrorCode } from '../errors.js';
import type { DeviceInfo } from './native-addon.js';
import { forkTrainWorker } from './train-supervisor.js';
import type { WorkerMessage } from './train-worker.js';

export interface DeviceReport {
  /** GPUs first, in the order `--device auto` prefers them; the CPU last. */
  devices: DeviceInfo[];
  /** Why a GPU library could not be used (e.g. a missing CUDA runtime), or empty. */
  notes: string;
  /** DocTune's CPU matrix kernel ("AVX-512", "AVX2") or "none". */
  cpuKernel?: string;
}

export async function probeDevices(timeoutMs = 60_000): Promise<DeviceReport> {
  const child = forkTrainWorker();
  let stderr = '';
  child.onStderr((text) => {
    stderr = (stderr + text).slice(-2000);
  });
  try {
    return await new Promise<DeviceReport>((resolve, reject) => {
      const timer = setTimeout(() => reject(new DocTuneError('TIMEOUT', 'probing compute devices took too long')), timeoutMs);
      child.onMessage((message) => {
        const m = message as WorkerMessage;
        clearTimeout(timer);
        if (m.type === 'devices') resolve({ devices: m.devices, notes: m.notes, cpuKernel: m.cpuKernel });
        else if (m.type === 'error') reject(new DocTuneError(m.error.code as ErrorCode, m.error.message, m.error.path ? { path: m.error.path } : undefined));
      });
      child.onExit((code, signal) => {
        clearTimeout(timer);
        const last = stderr.trim().split('\n').filter(Boolean).slice(-2).join(' | ');
        reject(new DocTuneError('INTERNAL', `the device probe stopped (${signal ?? `exit ${code}`})${last ? `: ${last}` : ''}`));
      });
      child.send({ type: 'devices' });
    });
  } finally {
    if (!child.exited()) child.kill();
  }
}

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DocTuneError } from '../errors.js';
import { tempDir, TINY_MODEL } from '../testing/corpus.js';
import { STORY_QA } from '../testing/qa-fixtures.js';
import { chooseDevice } from './device-choice.js';
import { addonPath, backendDirs, loadAddon, type DeviceInfo } from './native-addon.js';
import { DEFAULT_TRAIN_CONFIG } from './train-config.js';
import { runTraining } from './train-supervisor.js';

const device = (backend: string, name: string, description: string): DeviceInfo => ({ backend, name, description, memoryFree: 2 ** 30, memoryTotal: 2 ** 30 });
const cpu = device('CPU', 'CPU', 'AMD EPYC');
const vulkan = device('Vulkan', 'Vulkan0', 'llvmpipe (LLVM 15.0.7, 256 bits)');

function refusal(fn: () => unknown): DocTuneError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DocTuneError);
    return err as DocTuneError;
  }
  throw new Error('expected a refusal');
}

describe('choosing the training device', () => {
  it('auto takes the best device; a device asked for by name is that device', () => {
    expect(chooseDevice([vulkan, cpu], 'auto')).toBe(vulkan);
    expect(chooseDevice([cpu], 'auto')).toBe(cpu);
    expect(chooseDevice([vulkan, cpu], 'cpu')).toBe(cpu);
    expect(chooseDevice([vulkan, cpu], 'vulkan')).toBe(vulkan);
  });

  it('a device asked for by name that is not there is refused, naming it, why, and what there is', () => {
    const err = refusal(() => chooseDevice([cpu], 'cuda', 'cuda unavailable (libcudart.so.13: cannot open shared object file)'));
    expect(err.code).toBe('DEVICE_UNAVAILABLE');
    expect(err.message).toMatch(/^--device cuda: no CUDA device here \(cuda unavailable \(libcudart\.so\.13/);
    expect(err.message).toContain('available: cpu (CPU AMD EPYC)');
    expect(err.message).toContain('--device auto');
    expect(refusal(() => chooseDevice([vulkan, cpu], 'metal')).message).toContain('available: vulkan (Vulkan0 llvmpipe (LLVM 15.0.7, 256 bits)), cpu (CPU AMD EPYC)');
  });

  it.skipIf(!fs.existsSync(addonPath()))("on this machine's devices, and through the training process", async () => {
    const { devices, notes } = loadAddon().listDevices(backendDirs());
    const missing = (['cuda', 'vulkan', 'metal'] as const).filter((k) => !devices.some((d) => d.backend.toLowerCase() === k));
    for (const kind of missing) expect(refusal(() => chooseDevice(devices, kind, notes)).code).toBe('DEVICE_UNAVAILABLE');
    expect(chooseDevice(devices, 'cpu').backend).toBe('CPU');
    if (!missing.length) return;
    const dir = tempDir('device-choice');
    const data = path.join(dir, 'qa.jsonl');
    fs.writeFileSync(data, STORY_QA.map(([instruction, output]) => JSON.stringify({ instruction, output })).join('\n'));
    const run = runTraining({ config: { ...DEFAULT_TRAIN_CONFIG, modelPath: TINY_MODEL, epochs: 1, batch: 1, threads: 1, device: missing[0]! }, dataFile: data, outDir: path.join(dir, 'run') });
    await expect(run).rejects.toMatchObject({ code: 'DEVICE_UNAVAILABLE', message: expect.stringContaining(`--device ${missing[0]}`) });
    expect(fs.existsSync(path.join(dir, 'run', 'run.json'))).toBe(false);
  });
});

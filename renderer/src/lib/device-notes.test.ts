import { describe, expect, it } from 'vitest';
import { deviceNotes } from './device-notes';

describe('device notes', () => {
  it('gives each kind of GPU once, with the most telling reason and every raw detail', () => {
    // What the probe says on a machine with no NVIDIA software and no Vulkan device.
    const raw =
      'cuda unavailable (libcublas.so.13: cannot open shared object file: No such file or directory); ' +
      'cuda unavailable (libcudart.so.12: cannot open shared object file: No such file or directory); vulkan: no device found';
    expect(deviceNotes(raw)).toEqual([
      { kind: 'cuda', reason: 'noRuntime', details: [expect.stringContaining('libcublas.so.13'), expect.stringContaining('libcudart.so.12')] },
      { kind: 'vulkan', reason: 'noDevice', details: ['vulkan: no device found'] },
    ]);
  });

  it('tells a missing driver from a missing runtime, and a library that would not start', () => {
    expect(deviceNotes('cuda unavailable (libcudart.so.12: cannot open shared object file); cuda unavailable (libcuda.so.1: cannot open shared object file)')[0]!.reason).toBe('noDriver');
    expect(deviceNotes('vulkan unavailable (libvulkan.so.1: cannot open shared object file)')[0]).toMatchObject({ kind: 'vulkan', reason: 'noDriver' });
    expect(deviceNotes('metal unavailable (the backend did not initialise)')[0]).toMatchObject({ kind: 'metal', reason: 'notStarted' });
    expect(deviceNotes('vulkan unavailable (not a ggml backend library)')[0]).toMatchObject({ kind: 'vulkan', reason: 'notLoaded' });
  });

  it('keeps what it cannot read as one other note, and nothing for no notes', () => {
    expect(deviceNotes('no usable ggml CPU backend in the backend folders')).toEqual([
      { kind: 'other', reason: 'other', details: ['no usable ggml CPU backend in the backend folders'] },
    ]);
    expect(deviceNotes('')).toEqual([]);
  });
});

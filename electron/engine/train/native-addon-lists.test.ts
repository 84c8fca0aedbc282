import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEVICE_CHOICES } from '../../shared/contract.js';
import { TRAINABLE_ARCHITECTURES } from '../models/trainability.js';
import { GGML_BLOCK, GgmlType } from '../models/gguf/gguf-types.js';
import { transposedCopyType } from './memory-plan.js';
import { addonPath, loadAddon } from './native-addon.js';

// The lists that cross from C++ to TypeScript: the trainer says what it supports, the TypeScript side must agree.
describe.skipIf(!fs.existsSync(addonPath()))('what the native trainer supports', () => {
  it('trains exactly the architectures the engine offers to train', () => {
    expect([...loadAddon().supportedArchitectures]).toEqual([...TRAINABLE_ARCHITECTURES]);
  });

  it('takes exactly the device choices of the contract (CLI, app and pipeline)', () => {
    expect([...loadAddon().deviceChoices]).toEqual([...DEVICE_CHOICES]);
  });

  it('gives each transposed copy the type the memory plan counts, for every stored type and row length', () => {
    const addon = loadAddon();
    const types = Object.keys(GGML_BLOCK).map(Number) as GgmlType[];
    expect(types).toContain(GgmlType.IQ2_XXS);
    let checked = 0;
    for (const type of [GgmlType.F32, GgmlType.F16, GgmlType.BF16, ...types]) {
      for (const nOut of [32, 48, 64, 96, 100, 256, 512, 768, 4096, 11008]) {
        for (const compact of [false, true]) {
          expect([GgmlType[type], nOut, compact, transposedCopyType(type, nOut, compact)]).toEqual([GgmlType[type], nOut, compact, addon.transposedCopyType(type, nOut, compact)]);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(400);
  });
});

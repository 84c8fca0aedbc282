import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEVICE_CHOICES } from '../../shared/contract.js';
import { TRAINABLE_ARCHITECTURES } from '../models/trainability.js';
import { addonPath, loadAddon } from './native-addon.js';

// The lists that cross from C++ to TypeScript: the trainer says what it supports, the TypeScript side must agree.
describe.skipIf(!fs.existsSync(addonPath()))('what the native trainer supports', () => {
  it('trains exactly the architectures the engine offers to train', () => {
    expect([...loadAddon().supportedArchitectures]).toEqual([...TRAINABLE_ARCHITECTURES]);
  });

  it('takes exactly the device choices of the contract (CLI, app and pipeline)', () => {
    expect([...loadAddon().deviceChoices]).toEqual([...DEVICE_CHOICES]);
  });
});

/**
 * Which device trains: `auto` takes the best there is (GPUs first, in the order the native side lists them,
 * then the CPU); a device asked for by name must be there, or training is refused naming it, why it is not
 * (the backends' notes) and what there is, rather than going on quietly somewhere else.
 */
import { DocTuneError } from '../errors.js';
import type { DeviceChoice, DeviceInfo } from './native-addon.js';

const NAMES: Record<Exclude<DeviceChoice, 'auto'>, string> = { cpu: 'CPU', cuda: 'CUDA', vulkan: 'Vulkan', metal: 'Metal' };

export function deviceUnavailable(choice: DeviceChoice, devices: readonly DeviceInfo[], notes = ''): DocTuneError {
  const available = devices.map((d) => `${d.backend.toLowerCase()} (${d.name} ${d.description})`).join(', ') || 'none';
  const name = choice === 'auto' ? choice : NAMES[choice];
  return new DocTuneError('DEVICE_UNAVAILABLE',
    `--device ${choice}: no ${name} device here${notes ? ` (${notes})` : ''}; available: ${available}. Choose one of those, or --device auto for the best of them`);
}

export function chooseDevice(devices: readonly DeviceInfo[], choice: DeviceChoice, notes = ''): DeviceInfo {
  const device = choice === 'auto' ? devices[0] : devices.find((d) => d.backend.toLowerCase() === choice);
  if (!device) throw deviceUnavailable(choice, devices, notes);
  return device;
}

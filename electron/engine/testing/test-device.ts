/** The GPU the device tests run on, or why there is none: the addon not built is not the same as no device. */
import fs from 'node:fs';
import { addonPath, backendDirs, loadAddon, type DeviceInfo } from '../train/native-addon.js';

export function testDevice(backend: string): { device: DeviceInfo | undefined; why: string } {
  process.env.GGML_VK_VISIBLE_DEVICES ??= '0';
  if (!fs.existsSync(addonPath())) return { device: undefined, why: 'the native trainer is not built (npm run build:native)' };
  const device = loadAddon().listDevices(backendDirs()).devices.find((d) => d.backend.toLowerCase() === backend);
  return { device, why: device ? '' : `no ${backend} device (for Vulkan on a machine without a GPU: apt-get install mesa-vulkan-drivers)` };
}

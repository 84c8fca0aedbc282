import type { DeviceReport } from '$shared/contract';
import { getApi } from '../lib/api';
import { problemOf, type Problem } from '../lib/problems';

/** The compute devices training can use, as the engine probed them (it keeps the answer until a refresh). */
class DevicesStore {
  report = $state.raw<DeviceReport | null>(null);
  loading = $state(false);
  problem = $state.raw<Problem | null>(null);

  private request = 0;

  /** `refresh` makes the engine probe again instead of answering from its cache. */
  async load(refresh = false): Promise<void> {
    const request = ++this.request;
    this.loading = true;
    try {
      const report = await getApi().invoke('train.devices', refresh ? { refresh: true } : {});
      if (request !== this.request) return;
      this.report = report;
      this.problem = null;
    } catch (err) {
      if (request === this.request) this.problem = problemOf(err);
    } finally {
      if (request === this.request) this.loading = false;
    }
  }
}

export const devices = new DevicesStore();

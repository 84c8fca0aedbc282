import type { LogsInfo } from '$shared/contract';
import { getApi } from '../lib/api';
import { problemOf, type Problem } from '../lib/problems';

/** Where the engine keeps its log, and opening that folder (desktop app) for a support request. */
class LogsStore {
  info = $state.raw<LogsInfo | null>(null);
  problem = $state.raw<Problem | null>(null);

  async load(): Promise<void> {
    try {
      this.info = await getApi().invoke('app.logs', {});
      this.problem = null;
    } catch (err) {
      this.problem = problemOf(err);
    }
  }

  async open(): Promise<void> {
    try {
      await getApi().invoke('app.openLogs', {});
      this.problem = null;
    } catch (err) {
      this.problem = problemOf(err);
    }
  }
}

export const logs = new LogsStore();

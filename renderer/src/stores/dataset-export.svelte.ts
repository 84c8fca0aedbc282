import type { ArgsOf, ResultOf } from '$shared/contract';
import { getApi } from '../lib/api';
import { problemOf, type Problem } from '../lib/problems';

export type ExportFormat = ArgsOf<'dataset.export'>['format'];
export type ExportScope = NonNullable<ArgsOf<'dataset.export'>['status']>;

/** Writing the training set to a file in the workspace's exports folder. */
class DatasetExportStore {
  format = $state<ExportFormat>('messages');
  scope = $state<ExportScope>('accepted');
  running = $state(false);
  result = $state.raw<ResultOf<'dataset.export'> | null>(null);
  problem = $state.raw<Problem | null>(null);

  async run(): Promise<void> {
    this.running = true;
    this.problem = null;
    this.result = null;
    try {
      this.result = await getApi().invoke('dataset.export', { format: this.format, status: this.scope });
    } catch (err) {
      this.problem = problemOf(err);
    } finally {
      this.running = false;
    }
  }

  /** A new choice makes the last result stale. */
  forget(): void {
    this.result = null;
    this.problem = null;
  }
}

export const datasetExport = new DatasetExportStore();

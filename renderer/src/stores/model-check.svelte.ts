import { getApi } from '../lib/api';
import { ggufFileProblem } from '../lib/model-problem';
import type { Problem } from '../lib/problems';

/**
 * The chat model file, checked by the engine as soon as it is chosen (it is there, readable, a GGUF model), so
 * the reason shows at once rather than on the first question.
 */
class ModelCheckStore {
  path = $state('');
  checking = $state(false);
  problem = $state.raw<Problem | null>(null);

  private request = 0;

  /** `again`: check a path already checked (the file may have changed since). */
  async check(path: string, again = false): Promise<void> {
    if (path === this.path && !again) return;
    const request = ++this.request;
    this.path = path;
    this.problem = null;
    if (!path) {
      this.checking = false;
      return;
    }
    this.checking = true;
    try {
      await getApi().invoke('models.inspect', { path });
    } catch (err) {
      if (request === this.request) this.problem = ggufFileProblem(err, 'model');
    } finally {
      if (request === this.request) this.checking = false;
    }
  }
}

export const modelCheck = new ModelCheckStore();

import type { TeacherSettings } from '$shared/contract';
import { getApi } from '../lib/api';
import { problemOf, type Problem } from '../lib/problems';

export type TeacherState = TeacherSettings & { keychain: boolean };

/** The workspace's teacher settings (which model writes QA pairs, and how many). */
class TeacherStore {
  settings = $state.raw<TeacherState | null>(null);
  loading = $state(false);
  saving = $state(false);
  problem = $state.raw<Problem | null>(null);
  /** Storing an API key in the keychain: its own outcome, shown beside the key field. */
  keyStoring = $state(false);
  keyStored = $state<string | null>(null);
  keyProblem = $state.raw<Problem | null>(null);

  private request = 0;

  async load(): Promise<void> {
    const request = ++this.request;
    this.loading = true;
    try {
      const settings = await getApi().invoke('teacher.get', {});
      if (request !== this.request) return;
      this.settings = settings;
      this.problem = null;
    } catch (err) {
      if (request === this.request) this.problem = problemOf(err);
    } finally {
      if (request === this.request) this.loading = false;
    }
  }

  /** Returns whether the engine took the settings (it refuses incomplete ones with a reason). */
  async save(settings: TeacherSettings): Promise<boolean> {
    this.saving = true;
    this.problem = null;
    this.request++;
    try {
      this.settings = await getApi().invoke('teacher.set', settings);
      return true;
    } catch (err) {
      this.problem = problemOf(err);
      return false;
    } finally {
      this.saving = false;
    }
  }

  /** The key goes to the OS keychain on the engine's machine, never into the workspace. */
  async storeKey(baseUrl: string, key: string): Promise<boolean> {
    this.keyStoring = true;
    this.keyStored = null;
    this.keyProblem = null;
    try {
      const { stored } = await getApi().invoke('teacher.setKey', { baseUrl, key });
      if (stored) this.keyStored = baseUrl;
      return stored;
    } catch (err) {
      this.keyProblem = problemOf(err);
      return false;
    } finally {
      this.keyStoring = false;
    }
  }

  clearMessages(): void {
    this.problem = null;
    this.keyProblem = null;
    this.keyStored = null;
  }
}

export const teacher = new TeacherStore();

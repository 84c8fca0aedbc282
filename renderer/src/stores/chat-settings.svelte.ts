import { DEFAULT_CHAT_SETTINGS, type ChatSettings, type ResultOf } from '$shared/contract';
import { getApi } from '../lib/api';
import { problemOf, type Problem } from '../lib/problems';

export type AdapterInfo = ResultOf<'chat.adapters'>[number];

/** The engine's sampling defaults (shown beside the fields, and what "Reset" goes back to). */
export const SAMPLING_DEFAULTS = { temperature: DEFAULT_CHAT_SETTINGS.temperature, topP: DEFAULT_CHAT_SETTINGS.topP, maxTokens: DEFAULT_CHAT_SETTINGS.maxTokens } as const;

/**
 * The chat's model, adapter and sampling, kept in the workspace, and the adapters of its training runs. A change
 * shows at once and is saved in the background; saves go out one after another (each one rewrites the
 * workspace's settings), and a chat or an evaluation waits for them, since the engine reads the settings then.
 */
class ChatSettingsStore {
  settings = $state.raw<ChatSettings | null>(null);
  adapters = $state.raw<AdapterInfo[]>([]);
  loading = $state(false);
  problem = $state.raw<Problem | null>(null);

  private request = 0;
  private pending = 0;
  private writes: Promise<void> = Promise.resolve();

  async load(): Promise<void> {
    const request = ++this.request;
    this.loading = true;
    try {
      const [settings, adapters] = await Promise.all([getApi().invoke('chat.settings.get', {}), getApi().invoke('chat.adapters', {})]);
      if (request !== this.request) return;
      this.adapters = adapters;
      // A change made while this was on its way is newer than what the engine answered.
      if (this.pending === 0) this.settings = settings;
      this.problem = null;
    } catch (err) {
      if (request === this.request) this.problem = problemOf(err);
    } finally {
      if (request === this.request) this.loading = false;
    }
  }

  /** Show a change at once and save it; returns whether the engine took it. */
  async update(patch: Partial<ChatSettings>): Promise<boolean> {
    if (!this.settings) return false;
    this.settings = { ...this.settings, ...patch };
    this.pending++;
    const saved = this.writes.then(() => getApi().invoke('chat.settings.set', patch));
    this.writes = saved.then(
      () => undefined,
      () => undefined,
    );
    try {
      const settings = await saved;
      if (this.pending === 1) this.settings = settings;
      this.problem = null;
      return true;
    } catch (err) {
      this.problem = problemOf(err);
      // Show what the engine kept instead of the refused change.
      if (this.pending === 1) {
        try {
          this.settings = await getApi().invoke('chat.settings.get', {});
        } catch {
          // The problem above is already shown.
        }
      }
      return false;
    } finally {
      this.pending--;
    }
  }

  /** Choosing a training run's adapter also chooses the base model it was trained on. */
  chooseAdapter(adapter: AdapterInfo | null): Promise<boolean> {
    return this.update(adapter ? { adapterPath: adapter.adapterPath, modelPath: adapter.modelPath } : { adapterPath: '' });
  }

  /** Resolves once every change made so far has reached the engine. */
  settled(): Promise<void> {
    return this.writes;
  }
}

export const chatSettings = new ChatSettingsStore();

import { DEFAULT_CHAT_SETTINGS, type AdapterInfo, type ChatSettings } from '$shared/contract';
import { getApi } from '../lib/api';
import { problemOf, type Problem } from '../lib/problems';

export type { AdapterInfo };

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

  /** Choosing a training run's adapter also chooses the base model it was trained on (when that is known). */
  chooseAdapter(adapter: AdapterInfo | null): Promise<boolean> {
    if (!adapter) return this.update({ adapterPath: '' });
    return this.update(adapter.modelPath ? { adapterPath: adapter.adapterPath, modelPath: adapter.modelPath } : { adapterPath: adapter.adapterPath });
  }

  /**
   * An adapter file from outside the workspace: checked and remembered by the engine, then chosen. Throws
   * (for the caller to show beside its input) when the file is not a LoRA adapter.
   */
  async addAdapter(path: string): Promise<void> {
    const { adapters, added } = await getApi().invoke('chat.adapters.add', { path });
    this.adapters = adapters;
    await this.chooseAdapter(added);
  }

  /** Forget an added adapter file (the file stays where it is); the chat stops using it if it did. */
  async forgetAdapter(path: string): Promise<void> {
    try {
      this.adapters = await getApi().invoke('chat.adapters.forget', { path });
      if (this.settings?.adapterPath === path) await this.update({ adapterPath: '' });
    } catch (err) {
      this.problem = problemOf(err);
    }
  }

  /** Resolves once every change made so far has reached the engine. */
  settled(): Promise<void> {
    return this.writes;
  }
}

export const chatSettings = new ChatSettingsStore();

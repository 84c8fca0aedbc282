import type { ServeStatus } from '$shared/contract';
import { getApi } from '../lib/api';
import { problemOf, type Problem } from '../lib/problems';
import { chatSettings } from './chat-settings.svelte';

export type ServeHost = '127.0.0.1' | '0.0.0.0';

/**
 * The OpenAI-compatible server the engine runs for the chat settings' model and adapter (as `doctune serve`
 * does): its state, and starting and stopping it. The API key is held by the engine while it serves, never saved.
 */
class ServeStore {
  status = $state.raw<ServeStatus>({ running: false, url: null, model: null });
  busy = $state(false);
  problem = $state.raw<Problem | null>(null);

  async refresh(): Promise<void> {
    try {
      this.status = await getApi().invoke('serve.status', {});
    } catch (err) {
      this.problem = problemOf(err);
    }
  }

  async start(o: { port: number; host: ServeHost; apiKey: string }): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.problem = null;
    try {
      // The server starts with the model and adapter of the settings: changes still being saved go first.
      await chatSettings.settled();
      this.status = await getApi().invoke('serve.start', { port: o.port, host: o.host, ...(o.apiKey ? { apiKey: o.apiKey } : {}) });
    } catch (err) {
      this.problem = problemOf(err);
    } finally {
      this.busy = false;
    }
  }

  async stop(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.problem = null;
    try {
      this.status = await getApi().invoke('serve.stop', {});
    } catch (err) {
      this.problem = problemOf(err);
    } finally {
      this.busy = false;
    }
  }
}

export const serve = new ServeStore();

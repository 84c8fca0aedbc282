import type { Conversation } from '$shared/contract';
import { getApi } from '../lib/api';
import { problemOf, type Problem } from '../lib/problems';

/** The workspace's saved conversations, newest first (the chat page's sidebar). */
class ConversationsStore {
  list = $state.raw<Conversation[]>([]);
  loading = $state(false);
  loaded = $state(false);
  problem = $state.raw<Problem | null>(null);

  private request = 0;

  async refresh(): Promise<void> {
    const request = ++this.request;
    this.loading = true;
    try {
      const list = await getApi().invoke('chat.history', {});
      if (request !== this.request) return;
      this.list = list;
      this.loaded = true;
      this.problem = null;
    } catch (err) {
      if (request === this.request) this.problem = problemOf(err);
    } finally {
      if (request === this.request) this.loading = false;
    }
  }

  /** A conversation just saved: to the top of the list. */
  upsert(conversation: Conversation): void {
    this.request++;
    this.loading = false;
    this.list = [conversation, ...this.list.filter((c) => c.id !== conversation.id)].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  }

  async remove(id: string): Promise<boolean> {
    try {
      await getApi().invoke('chat.delete', { id });
      this.request++;
      this.loading = false;
      this.list = this.list.filter((c) => c.id !== id);
      this.problem = null;
      return true;
    } catch (err) {
      this.problem = problemOf(err);
      return false;
    }
  }
}

export const conversations = new ConversationsStore();

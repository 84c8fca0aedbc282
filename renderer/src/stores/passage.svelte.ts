import type { ChunkView, Citation } from '$shared/contract';
import { getApi } from '../lib/api';
import { problemOf, type Problem } from '../lib/problems';

/** The passage behind a citation, read from its document's chunks (shown in a dialog over the chat). */
class PassageStore {
  citation = $state.raw<Citation | null>(null);
  chunk = $state.raw<ChunkView | null>(null);
  loading = $state(false);
  /** The chunk is no longer in the workspace (its document was removed or imported again). */
  missing = $state(false);
  problem = $state.raw<Problem | null>(null);

  private request = 0;

  async open(citation: Citation): Promise<void> {
    const request = ++this.request;
    this.citation = citation;
    this.chunk = null;
    this.missing = false;
    this.problem = null;
    this.loading = true;
    try {
      const chunks = await getApi().invoke('docs.chunks', { documentId: citation.documentId });
      if (request !== this.request) return;
      this.chunk = chunks.find((chunk) => chunk.id === citation.chunkId) ?? null;
      this.missing = this.chunk === null;
    } catch (err) {
      if (request !== this.request) return;
      this.problem = problemOf(err);
      this.missing = true;
    } finally {
      if (request === this.request) this.loading = false;
    }
  }

  close(): void {
    this.request++;
    this.citation = null;
    this.chunk = null;
    this.loading = false;
    this.missing = false;
    this.problem = null;
  }
}

export const passage = new PassageStore();

import type { ChunkView, DocumentSummary } from '$shared/contract';
import { getApi } from '../lib/api';
import { problemOf, type Problem } from '../lib/problems';

/** The workspace's documents, the selected one and its chunks. */
class DocumentsStore {
  list = $state.raw<DocumentSummary[]>([]);
  loading = $state(false);
  loaded = $state(false);
  problem = $state.raw<Problem | null>(null);

  selectedId = $state<string | null>(null);
  chunks = $state.raw<ChunkView[]>([]);
  chunksLoading = $state(false);
  chunksProblem = $state.raw<Problem | null>(null);
  /** A chunk to scroll to once the selected document's chunks are shown (from a search hit). */
  focusChunkId = $state<string | null>(null);

  selected = $derived(this.list.find((doc) => doc.id === this.selectedId) ?? null);

  // Each load gets a number so that an answer arriving after a newer request is dropped.
  private listRequest = 0;
  private chunksRequest = 0;

  async refresh(): Promise<void> {
    const request = ++this.listRequest;
    this.loading = true;
    try {
      const list = await getApi().invoke('docs.list', {});
      if (request !== this.listRequest) return;
      this.list = list;
      this.problem = null;
      this.loaded = true;
      const selected = this.selected;
      if (this.selectedId !== null && !selected) this.clearSelection();
      else if (selected && !this.chunksLoading && selected.chunks !== this.chunks.length) void this.loadChunks(selected.id);
    } catch (err) {
      if (request === this.listRequest) this.problem = problemOf(err);
    } finally {
      if (request === this.listRequest) this.loading = false;
    }
  }

  select(documentId: string, focusChunkId: string | null = null): void {
    this.focusChunkId = focusChunkId;
    if (documentId === this.selectedId && !this.chunksProblem) return;
    this.selectedId = documentId;
    this.chunks = [];
    void this.loadChunks(documentId);
  }

  clearSelection(): void {
    this.chunksRequest++;
    this.selectedId = null;
    this.chunks = [];
    this.chunksLoading = false;
    this.chunksProblem = null;
    this.focusChunkId = null;
  }

  async remove(documentId: string): Promise<void> {
    try {
      await getApi().invoke('docs.remove', { documentId });
      if (this.selectedId === documentId) this.clearSelection();
      await this.refresh();
    } catch (err) {
      this.chunksProblem = problemOf(err);
    }
  }

  private async loadChunks(documentId: string): Promise<void> {
    const request = ++this.chunksRequest;
    this.chunksLoading = true;
    this.chunksProblem = null;
    try {
      const chunks = await getApi().invoke('docs.chunks', { documentId });
      if (request !== this.chunksRequest) return;
      this.chunks = [...chunks].sort((a, b) => a.ordinal - b.ordinal);
    } catch (err) {
      if (request === this.chunksRequest) this.chunksProblem = problemOf(err);
    } finally {
      if (request === this.chunksRequest) this.chunksLoading = false;
    }
  }
}

export const documents = new DocumentsStore();

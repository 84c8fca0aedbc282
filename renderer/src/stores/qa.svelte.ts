import { SvelteSet } from 'svelte/reactivity';
import type { QaCounts, QaPage, QaPairView, QaPassage, QaStatus } from '$shared/contract';
import { getApi } from '../lib/api';
import { problemOf, type Problem } from '../lib/problems';

/** Pairs fetched per request; "load more" fetches the next this many. */
export const PAGE_SIZE = 200;
/** The engine's largest page: a refresh reloads what was shown, up to this. */
const MAX_PAGE = 5000;
const SEARCH_DEBOUNCE_MS = 300;
const PASSAGE_CACHE = 100;
/** Moving through rows quickly (a held `j`) asks only for the passage the selection stops at. */
const PASSAGE_DELAY_MS = 90;

export type StatusFilter = QaStatus | 'all';

const NO_COUNTS: QaCounts = { pending: 0, accepted: 0, rejected: 0, edited: 0 };

/**
 * The training-set review: the filtered list of QA pairs, the workspace's counts, the selected pair with its
 * passage, and the pairs ticked for a bulk action. A reviewed pair stays in the list with its new status
 * (dimmed when it no longer matches the filter) until the next refresh, so the reviewer keeps their place.
 */
class QaStore {
  status = $state<StatusFilter>('all');
  documentId = $state('');
  source = $state('');
  /** The search box as typed; the list follows it after a pause. */
  search = $state('');

  pairs = $state.raw<QaPairView[]>([]);
  total = $state(0);
  counts = $state.raw<QaCounts>(NO_COUNTS);
  /** Accepted pairs whose document was removed: shown, left out of training. */
  acceptedOfRemoved = $state(0);
  documents = $state.raw<QaPage['documents']>([]);
  sources = $state.raw<string[]>([]);
  loading = $state(false);
  loadingMore = $state(false);
  loaded = $state(false);
  problem = $state.raw<Problem | null>(null);

  selectedId = $state<string | null>(null);
  /** Pairs ticked for a bulk action. */
  readonly checked = new SvelteSet<string>();

  passage = $state.raw<QaPassage | null>(null);
  /** The pair `passage` belongs to (the previous pair's stays shown, dimmed, while the next one loads). */
  passageFor = $state<string | null>(null);
  passageLoading = $state(false);
  passageProblem = $state.raw<Problem | null>(null);

  saving = $state(false);
  /** A failed review action (accept, reject, save, bulk), kept apart from loading problems. */
  actionProblem = $state.raw<Problem | null>(null);

  selected = $derived(this.pairs.find((pair) => pair.id === this.selectedId) ?? null);
  selectedIndex = $derived(this.pairs.findIndex((pair) => pair.id === this.selectedId));
  allCount = $derived(this.counts.pending + this.counts.accepted + this.counts.rejected + this.counts.edited);
  /** Loaded pairs that still match the filter (reviewed ones may have left it). */
  shownMatching = $derived(this.matchingLoaded());
  hasMore = $derived(this.shownMatching < this.total);

  private listRequest = 0;
  private passageRequest = 0;
  private searchTimer: ReturnType<typeof setTimeout> | null = null;
  private passageTimer: ReturnType<typeof setTimeout> | null = null;
  private passages = new Map<string, QaPassage | null>();
  /**
   * Review writes, one after another. The engine answers requests as they complete, not in the order sent, so
   * lists wait for the writes before them: a list asked for after an accept must show it accepted.
   */
  private writes: Promise<void> = Promise.resolve();

  /** Whether a pair still belongs in the list under the current status filter. */
  matches(pair: QaPairView): boolean {
    return this.matchesStatus(pair.status);
  }

  private matchesStatus(status: QaStatus): boolean {
    return this.status === 'all' || status === this.status;
  }

  /** Reload the list from the start, keeping as many rows as were shown and the selection if it is still there. */
  async refresh(): Promise<void> {
    this.clearSearchTimer();
    const request = ++this.listRequest;
    const limit = Math.min(MAX_PAGE, Math.max(PAGE_SIZE, Math.ceil(this.pairs.length / PAGE_SIZE) * PAGE_SIZE));
    this.loading = true;
    this.loadingMore = false;
    try {
      await this.writes;
      if (request !== this.listRequest) return;
      const page = await getApi().invoke('qa.list', { ...this.filter(), offset: 0, limit });
      if (request !== this.listRequest) return;
      this.applyPage(page, page.pairs);
      this.passages.clear();
      this.problem = null;
      this.loaded = true;
      if (this.selectedId !== null && !this.selected) this.select(null);
      else if (this.selectedId !== null) void this.loadPassage(this.selectedId);
      const ids = new Set(page.pairs.map((pair) => pair.id));
      for (const id of [...this.checked]) if (!ids.has(id)) this.checked.delete(id);
    } catch (err) {
      if (request === this.listRequest) this.problem = problemOf(err);
    } finally {
      if (request === this.listRequest) this.loading = false;
    }
  }

  async loadMore(): Promise<void> {
    if (this.loading || this.loadingMore || !this.hasMore) return;
    const request = ++this.listRequest;
    this.loadingMore = true;
    try {
      await this.writes;
      if (request !== this.listRequest) return;
      // Pairs reviewed here that left the filter are no longer in the engine's list: skip only those that are.
      const page = await getApi().invoke('qa.list', { ...this.filter(), offset: this.matchingLoaded(), limit: PAGE_SIZE });
      if (request !== this.listRequest) return;
      const known = new Set(this.pairs.map((pair) => pair.id));
      this.applyPage(page, [...this.pairs, ...page.pairs.filter((pair) => !known.has(pair.id))]);
      this.problem = null;
    } catch (err) {
      if (request === this.listRequest) this.problem = problemOf(err);
    } finally {
      if (request === this.listRequest) this.loadingMore = false;
    }
  }

  setStatusFilter(status: StatusFilter): void {
    this.status = status;
    void this.refresh();
  }

  setDocument(documentId: string): void {
    this.documentId = documentId;
    void this.refresh();
  }

  setSource(source: string): void {
    this.source = source;
    void this.refresh();
  }

  /** Typing in the search box: the list follows once typing pauses. */
  setSearch(text: string): void {
    this.search = text;
    this.clearSearchTimer();
    this.searchTimer = setTimeout(() => {
      this.searchTimer = null;
      void this.refresh();
    }, SEARCH_DEBOUNCE_MS);
  }

  select(id: string | null): void {
    if (id === this.selectedId) return;
    this.selectedId = id;
    this.actionProblem = null;
    if (id === null) {
      this.passageRequest++;
      this.passage = null;
      this.passageFor = null;
      this.passageLoading = false;
      this.passageProblem = null;
      return;
    }
    void this.loadPassage(id);
  }

  /** Move the selection by `step` rows; with nothing selected, start at the first row. */
  move(step: 1 | -1): void {
    if (this.pairs.length === 0) return;
    const index = this.selectedIndex;
    const next = index < 0 ? 0 : Math.max(0, Math.min(this.pairs.length - 1, index + step));
    this.select(this.pairs[next]?.id ?? null);
    // Reaching the last loaded row fetches the next page, so the keyboard never runs into a wall.
    if (next >= this.pairs.length - 1 && this.hasMore) void this.loadMore();
  }

  toggleChecked(id: string, on: boolean): void {
    if (on) this.checked.add(id);
    else this.checked.delete(id);
  }

  setAllChecked(on: boolean): void {
    this.checked.clear();
    if (on) for (const pair of this.pairs) this.checked.add(pair.id);
  }

  /** Accept or reject the selected pair, then go on to the next row. */
  async review(status: 'accepted' | 'rejected'): Promise<void> {
    const pair = this.selected;
    if (!pair) return;
    this.move(1);
    // An edited pair is already accepted, in the reviewer's words: accepting it again keeps it edited.
    if (status === 'accepted' && pair.status === 'edited') return;
    await this.applyStatus([pair.id], status);
  }

  /** Accept or reject every ticked pair. */
  async reviewChecked(status: 'accepted' | 'rejected'): Promise<void> {
    const ids = this.pairs
      .filter((pair) => this.checked.has(pair.id) && !(status === 'accepted' && pair.status === 'edited'))
      .map((pair) => pair.id);
    this.checked.clear();
    if (ids.length > 0) await this.applyStatus(ids, status);
  }

  /** New wording for a pair; the engine marks it edited. */
  async save(id: string, question: string, answer: string): Promise<boolean> {
    const pair = this.pairs.find((p) => p.id === id);
    if (!pair) return false;
    this.saving = true;
    this.actionProblem = null;
    try {
      const updated = await this.write(() =>
        getApi().invoke('qa.update', {
          id,
          ...(question !== pair.question ? { question } : {}),
          ...(answer !== pair.answer ? { answer } : {}),
        }),
      );
      const current = this.pairs.find((p) => p.id === id);
      if (current) this.replace([updated], new Map([[id, current.status]]));
      return true;
    } catch (err) {
      this.actionProblem = problemOf(err);
      return false;
    } finally {
      this.saving = false;
    }
  }

  /** Shown at once; put back if the engine refuses. */
  private async applyStatus(ids: string[], status: QaStatus): Promise<void> {
    const idSet = new Set(ids);
    const before = new Map(this.pairs.filter((pair) => idSet.has(pair.id)).map((pair) => [pair.id, pair.status]));
    this.replace(
      this.pairs.filter((pair) => idSet.has(pair.id)).map((pair) => ({ ...pair, status })),
      before,
    );
    this.actionProblem = null;
    try {
      await this.write(() => getApi().invoke('qa.setStatus', { ids, status }));
    } catch (err) {
      this.actionProblem = problemOf(err);
      const now = new Map(this.pairs.filter((pair) => before.has(pair.id)).map((pair) => [pair.id, pair.status]));
      this.replace(
        this.pairs.filter((pair) => before.has(pair.id)).map((pair) => ({ ...pair, status: before.get(pair.id) ?? pair.status })),
        now,
      );
    }
  }

  private write<T>(run: () => Promise<T>): Promise<T> {
    const result = this.writes.then(run);
    this.writes = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /** Swap in changed pairs and move the counts from each pair's previous status to its new one. */
  private replace(changed: QaPairView[], previous: Map<string, QaStatus>): void {
    const byId = new Map(changed.map((pair) => [pair.id, pair]));
    this.pairs = this.pairs.map((pair) => byId.get(pair.id) ?? pair);
    const counts = { ...this.counts };
    let total = this.total;
    for (const pair of changed) {
      const old = previous.get(pair.id);
      if (old === undefined || old === pair.status) continue;
      counts[old] = Math.max(0, counts[old] - 1);
      counts[pair.status] += 1;
      // The engine's count of pairs matching the filter moves with it.
      total += Number(this.matchesStatus(pair.status)) - Number(this.matchesStatus(old));
    }
    this.counts = counts;
    this.total = Math.max(0, total);
  }

  private async loadPassage(id: string): Promise<void> {
    const request = ++this.passageRequest;
    if (this.passageTimer !== null) clearTimeout(this.passageTimer);
    this.passageTimer = null;
    this.passageProblem = null;
    if (this.passages.has(id)) {
      this.passage = this.passages.get(id) ?? null;
      this.passageFor = id;
      this.passageLoading = false;
      return;
    }
    this.passageLoading = true;
    await new Promise<void>((resolve) => {
      this.passageTimer = setTimeout(resolve, PASSAGE_DELAY_MS);
    });
    if (request !== this.passageRequest) return;
    try {
      const passage = await getApi().invoke('qa.passage', { id });
      this.remember(id, passage);
      if (request !== this.passageRequest) return;
      this.passage = passage;
      this.passageFor = id;
    } catch (err) {
      if (request === this.passageRequest) {
        this.passage = null;
        this.passageFor = id;
        this.passageProblem = problemOf(err);
      }
    } finally {
      if (request === this.passageRequest) this.passageLoading = false;
    }
  }

  private remember(id: string, passage: QaPassage | null): void {
    this.passages.set(id, passage);
    if (this.passages.size > PASSAGE_CACHE) {
      const oldest = this.passages.keys().next().value;
      if (oldest !== undefined) this.passages.delete(oldest);
    }
  }

  private applyPage(page: QaPage, pairs: QaPairView[]): void {
    this.pairs = pairs;
    this.total = page.total;
    this.counts = page.counts;
    this.acceptedOfRemoved = page.acceptedOfRemoved;
    this.documents = page.documents;
    this.sources = page.sources;
  }

  private filter(): { status: StatusFilter; documentId?: string; source?: string; search?: string } {
    const search = this.search.trim();
    return {
      status: this.status,
      ...(this.documentId ? { documentId: this.documentId } : {}),
      ...(this.source ? { source: this.source } : {}),
      ...(search ? { search: search.slice(0, 500) } : {}),
    };
  }

  private matchingLoaded(): number {
    return this.pairs.reduce((sum, pair) => sum + (this.matches(pair) ? 1 : 0), 0);
  }

  private clearSearchTimer(): void {
    if (this.searchTimer !== null) clearTimeout(this.searchTimer);
    this.searchTimer = null;
  }
}

export const qa = new QaStore();

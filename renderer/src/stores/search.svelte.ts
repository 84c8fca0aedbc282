import type { SearchHit } from '$shared/contract';
import { getApi } from '../lib/api';
import { problemOf, type Problem } from '../lib/problems';

const RESULT_COUNT = 20;

/** The search box's query and the hits of the last search. */
class SearchStore {
  query = $state('');
  /** The query the shown results belong to (the box may have been edited since). */
  shownQuery = $state('');
  results = $state.raw<SearchHit[]>([]);
  searching = $state(false);
  problem = $state.raw<Problem | null>(null);
  /** The results take the search column; opening a document shows its passages there instead. */
  resultsShown = $state(false);

  private request = 0;

  /** A removed document's passages must not stay clickable in the results. */
  forgetDocument(documentId: string): void {
    this.results = this.results.filter((hit) => hit.documentId !== documentId);
  }

  showResults(shown: boolean): void {
    this.resultsShown = shown;
  }

  async run(): Promise<void> {
    const query = this.query.trim();
    if (!query) return;
    const request = ++this.request;
    this.searching = true;
    this.resultsShown = true;
    this.problem = null;
    try {
      const results = await getApi().invoke('search.query', { query, k: RESULT_COUNT });
      if (request !== this.request) return;
      this.results = results;
      this.shownQuery = query;
    } catch (err) {
      if (request === this.request) this.problem = problemOf(err);
    } finally {
      if (request === this.request) this.searching = false;
    }
  }
}

export const search = new SearchStore();

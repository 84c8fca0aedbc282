export type PageName = 'wizard' | 'documents' | 'dataset' | 'chat';

/**
 * Which page the window shows. A page, once shown, stays mounted (hidden while another is shown), so switching
 * back finds it as it was left: filters, selection, scroll position, half-typed text.
 */
class NavigationStore {
  page = $state<PageName>('documents');
  visited = $state<Record<PageName, boolean>>({ wizard: false, documents: true, dataset: false, chat: false });

  show(page: PageName): void {
    this.page = page;
    this.visited[page] = true;
  }
}

export const navigation = new NavigationStore();

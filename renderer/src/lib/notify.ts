/**
 * Desktop notifications for long work that ends while the user is elsewhere (another window, another
 * application). Nothing is shown while DocTune has the focus: the page already says it.
 */

/** Ask once, when the user starts something long (browsers only allow asking after a user action). */
export function askToNotify(): void {
  if (typeof Notification === 'undefined' || Notification.permission !== 'default') return;
  void Notification.requestPermission().catch(() => undefined);
}

export function notifyIfAway(title: string, body: string): void {
  if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
  if (!document.hidden && document.hasFocus()) return;
  try {
    new Notification(title, { body });
  } catch {
    // Some platforms only notify through a service worker: the page still shows the result.
  }
}

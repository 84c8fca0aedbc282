/** What a key does on the training-set review page. */
export type ReviewAction = 'accept' | 'reject' | 'next' | 'previous' | 'editAnswer';

/** The keys, as shown in the hint line (letters are not translated: they are what the user presses). */
export const REVIEW_KEYS = { accept: 'a', reject: 'r', next: 'j', previous: 'k', editAnswer: 'e' } as const;

interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  repeat: boolean;
  defaultPrevented: boolean;
  target: unknown;
}

/** Input types that take no typing: keys pressed while they have focus are shortcuts. */
const NON_TEXT_INPUTS = new Set(['checkbox', 'radio', 'button', 'submit', 'reset', 'range', 'color', 'file', 'image']);

/** Whether focus is in something that takes typed keys (a text field, a text area, a select, editable content). */
export function isTypingTarget(target: unknown): boolean {
  if (!target || typeof target !== 'object') return false;
  const element = target as { tagName?: unknown; type?: unknown; isContentEditable?: unknown };
  if (element.isContentEditable === true) return true;
  const tag = typeof element.tagName === 'string' ? element.tagName.toUpperCase() : '';
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag === 'INPUT') return !NON_TEXT_INPUTS.has(typeof element.type === 'string' ? element.type.toLowerCase() : 'text');
  return false;
}

/**
 * The review action of a key press, or null when the key is not a shortcut here: with a modifier held, while
 * typing in a field, or already handled. Holding a key down moves through the rows, but does not accept or
 * reject one pair after another.
 */
export function reviewKeyAction(event: KeyLike): ReviewAction | null {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return null;
  if (isTypingTarget(event.target)) return null;
  switch (event.key) {
    case 'j':
    case 'ArrowDown':
      return 'next';
    case 'k':
    case 'ArrowUp':
      return 'previous';
    case 'a':
      return event.repeat ? null : 'accept';
    case 'r':
      return event.repeat ? null : 'reject';
    case 'e':
      return event.repeat ? null : 'editAnswer';
    default:
      return null;
  }
}

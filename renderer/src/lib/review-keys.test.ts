import { describe, expect, it } from 'vitest';
import { isTypingTarget, reviewKeyAction } from './review-keys';

const press = (key: string, extra: Partial<Parameters<typeof reviewKeyAction>[0]> = {}): ReturnType<typeof reviewKeyAction> =>
  reviewKeyAction({ key, ctrlKey: false, metaKey: false, altKey: false, repeat: false, defaultPrevented: false, target: { tagName: 'BODY' }, ...extra });

describe('review shortcuts', () => {
  it('maps a, r, j/k, the arrows and e', () => {
    expect(press('a')).toBe('accept');
    expect(press('r')).toBe('reject');
    expect(press('j')).toBe('next');
    expect(press('ArrowDown')).toBe('next');
    expect(press('k')).toBe('previous');
    expect(press('ArrowUp')).toBe('previous');
    expect(press('e')).toBe('editAnswer');
    expect(press('x')).toBeNull();
    expect(press('A')).toBeNull();
  });

  it('ignores keys with modifiers, already handled ones, and held-down accept/reject', () => {
    expect(press('a', { ctrlKey: true })).toBeNull();
    expect(press('r', { metaKey: true })).toBeNull();
    expect(press('j', { altKey: true })).toBeNull();
    expect(press('a', { defaultPrevented: true })).toBeNull();
    expect(press('a', { repeat: true })).toBeNull();
    expect(press('j', { repeat: true })).toBe('next');
  });

  it('leaves keys to text fields, but not to checkboxes and buttons', () => {
    expect(press('a', { target: { tagName: 'TEXTAREA' } })).toBeNull();
    expect(press('a', { target: { tagName: 'INPUT', type: 'search' } })).toBeNull();
    expect(press('j', { target: { tagName: 'SELECT' } })).toBeNull();
    expect(press('a', { target: { tagName: 'DIV', isContentEditable: true } })).toBeNull();
    expect(press('a', { target: { tagName: 'INPUT', type: 'checkbox' } })).toBe('accept');
    expect(press('a', { target: { tagName: 'BUTTON' } })).toBe('accept');
    expect(isTypingTarget(null)).toBe(false);
    expect(isTypingTarget({ tagName: 'input' })).toBe(true);
  });
});

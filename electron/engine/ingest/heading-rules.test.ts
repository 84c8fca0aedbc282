import { describe, expect, it } from 'vitest';
import { isNotAHeading, looksLikeHeading } from './heading-rules.js';

describe('heading rules', () => {
  it('rejects addresses, phone lines, web addresses, dates and flowchart words', () => {
    for (const line of [
      'Voice phone: (202) 693-1999; teletypewriter',
      'Boston, MA 02203',
      'JFK Federal Building, Room E340',
      '201 Varick Street, Room 670',
      'Suite 1100',
      'www.osha.gov',
      'YES',
      'NO STOP',
      'Yes / No',
      'March 2007',
      '1-800-321-OSHA (6742)',
    ]) expect(isNotAHeading(line), line).toBe(true);
  });

  it('accepts titles and questions', () => {
    for (const line of ['Why is job hazard analysis important?', 'Requirements of the Standard', '2.1. Purpose', '第一章 总则']) {
      expect(isNotAHeading(line), line).toBe(false);
      expect(looksLikeHeading(line, 'A sentence ended.', 'Next text.'), line).toBe(true);
    }
  });

  it('does not take a wrapped sentence or a bullet for a heading', () => {
    expect(looksLikeHeading('Employers must train the', 'Ended.', 'workers.')).toBe(false);
    expect(looksLikeHeading('• Lock the source', 'Ended.', 'Next.')).toBe(false);
    expect(looksLikeHeading('Can happen anywhere. Higher risk areas are', undefined, 'Next')).toBe(false);
  });
});

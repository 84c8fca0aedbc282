import { describe, expect, it } from 'vitest';
import { durationParts } from './duration';

describe('durationParts', () => {
  it('uses seconds under a minute, minutes and seconds under an hour, then hours and minutes', () => {
    expect(durationParts(0)).toEqual({ unit: 'seconds', s: 0 });
    expect(durationParts(44.6)).toEqual({ unit: 'seconds', s: 45 });
    expect(durationParts(60)).toEqual({ unit: 'minutes', m: 1, s: 0 });
    expect(durationParts(200)).toEqual({ unit: 'minutes', m: 3, s: 20 });
    expect(durationParts(3599)).toEqual({ unit: 'minutes', m: 59, s: 59 });
    expect(durationParts(3600)).toEqual({ unit: 'hours', h: 1, m: 0 });
    expect(durationParts(7530)).toEqual({ unit: 'hours', h: 2, m: 6 });
  });

  it('treats negative and non-finite values as zero', () => {
    expect(durationParts(-5)).toEqual({ unit: 'seconds', s: 0 });
    expect(durationParts(Number.NaN)).toEqual({ unit: 'seconds', s: 0 });
  });
});

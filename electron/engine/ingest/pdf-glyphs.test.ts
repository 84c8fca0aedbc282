import { describe, expect, it } from 'vitest';
import { fixMacQuotes, hasMacQuoteMojibake, mapGlyphs, repairLetterSpacing } from './pdf-glyphs.js';

describe('glyph mapping', () => {
  it('turns symbol-font bullets and control-character bullets into bullets, and drops them inside text', () => {
    expect(mapGlyphs('\uf0a7Identify the energy sources', true)).toBe('▪ Identify the energy sources');
    expect(mapGlyphs('\uf0b7 Lock it', true)).toBe('• Lock it');
    expect(mapGlyphs('\u0002 Notify employees', true)).toBe('• Notify employees');
    expect(mapGlyphs('energy\u0002 sources\ufffd', false)).toBe('energy  sources');
    expect(mapGlyphs('plain text', true)).toBe('plain text');
  });

  it('repairs Mac-encoded quotes in a font that has them, and leaves Spanish alone', () => {
    const osha = 'What is ìlockout/tagoutî? OSHAís standard doesnít apply to cord and plug equipment.';
    expect(hasMacQuoteMojibake(osha)).toBe(true);
    expect(fixMacQuotes(osha)).toBe('What is “lockout/tagout”? OSHA’s standard doesn’t apply to cord and plug equipment.');
    expect(hasMacQuoteMojibake('La información está en el país; María tiene más.')).toBe(false);
    expect(hasMacQuoteMojibake('An ordinary English sentence.')).toBe(false);
  });

  it('joins letter-spaced headings and keeps real short words and numbers apart', () => {
    expect(repairLetterSpacing('S co p e')).toBe('Scope');
    expect(repairLetterSpacing('G u i d i n g P ri n ci p l es')).toBe('Guiding Principles');
    expect(repairLetterSpacing('C o r e Cap ab i l i t i e s')).toBe('Core Capabilities');
    expect(repairLetterSpacing('It is up to us to go on')).toBe('It is up to us to go on');
    expect(repairLetterSpacing('Type 5 4 3 2 1')).toBe('Type 5 4 3 2 1');
  });
});

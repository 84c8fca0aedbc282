import { describe, expect, it } from 'vitest';
import { baseName, commonDirectory, relativeTo } from './paths';

describe('paths', () => {
  it('finds the shared folder of POSIX and Windows paths', () => {
    const posix = ['/tmp/up/reports/a.pdf', '/tmp/up/reports/2024/b.docx', '/tmp/up/notes.md'];
    expect(commonDirectory(posix)).toEqual(['', 'tmp', 'up']);
    expect(relativeTo('/tmp/up/reports/2024/b.docx', commonDirectory(posix))).toBe('reports/2024/b.docx');
    const windows = ['C:\\docs\\a.pdf', 'C:\\docs\\sub\\b.pdf'];
    expect(relativeTo('C:\\docs\\sub\\b.pdf', commonDirectory(windows))).toBe('sub/b.pdf');
  });

  it('keeps a single file name readable', () => {
    expect(relativeTo('/a/b/c.txt', commonDirectory(['/a/b/c.txt']))).toBe('c.txt');
    expect(baseName('/a/b/c.txt')).toBe('c.txt');
    expect(commonDirectory([])).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { exportDownloadHref } from './export-link';

describe('exportDownloadHref', () => {
  it('names the file under /export/ with the access token', () => {
    expect(exportDownloadHref('doctune-messages-2026-01-01T00-00-00-000Z.jsonl', 'abc_-9')).toBe(
      '/export/doctune-messages-2026-01-01T00-00-00-000Z.jsonl?token=abc_-9',
    );
  });

  it('escapes what a URL would misread', () => {
    expect(exportDownloadHref('a b.json', 'x+y/z=')).toBe('/export/a%20b.json?token=x%2By%2Fz%3D');
  });
});

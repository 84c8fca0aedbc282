import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHARED } from '../electron/engine/testing/corpus.js';

const manifest = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, 'test-data.json'), 'utf8')) as { files: { path: string; url: string; sha256: string; bytes: number }[] };

describe('the test data manifest CI fetches from', () => {
  it('lists every file of the shared folder, each from a pinned commit, with the hash of the copy here', () => {
    const here = ['corpus', 'models'].flatMap((d) => fs.readdirSync(path.join(SHARED, d)).filter((f) => !/README/.test(f)).map((f) => `${d}/${f}`));
    expect(manifest.files.map((f) => f.path).sort()).toEqual(here.sort());
    for (const f of manifest.files) {
      expect(f.url).toMatch(/^https:\/\/raw\.githubusercontent\.com\/[\w.-]+\/[\w.-]+\/[0-9a-f]{40}\//);
      const bytes = fs.readFileSync(path.join(SHARED, f.path));
      expect(bytes.length, f.path).toBe(f.bytes);
      expect(createHash('sha256').update(bytes).digest('hex'), f.path).toBe(f.sha256);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { importTargets, type UploadItem } from './upload';

const item = (relativePath: string): UploadItem => ({ file: new File(['x'], relativePath.split('/').pop()!), relativePath });

describe('importTargets', () => {
  it('imports an uploaded folder as its stored root and single files as themselves', () => {
    const items = [item('corpus/a.pdf'), item('corpus/sub/b.md'), item('corpus/README.md'), item('notes.txt')];
    const stored = ['/ws/uploads/corpus/a.pdf', '/ws/uploads/corpus/sub/b.md', '/ws/uploads/corpus/README.md', '/ws/uploads/notes.txt'];
    expect(importTargets(items, stored)).toEqual(['/ws/uploads/corpus', '/ws/uploads/notes.txt']);
  });

  it('works with Windows paths on the engine side', () => {
    expect(importTargets([item('docs/x/y.pdf')], ['C:\\ws\\uploads\\docs\\x\\y.pdf'])).toEqual(['C:\\ws\\uploads\\docs']);
  });
});

import { describe, expect, it } from 'vitest';
import { ApiError } from './api-error';
import { ggufFileProblem } from './model-problem';

const checked = (message: string): ApiError => new ApiError('MODEL', message, '/models/x.gguf');

describe('why a model or adapter file cannot be used', () => {
  it('names the plain reason the engine\'s check found', () => {
    expect(ggufFileProblem(new ApiError('NOT_FOUND', 'not a usable GGUF model: cannot open GGUF file: ENOENT'))).toEqual({ key: 'gguf.missing' });
    expect(ggufFileProblem(checked('not a usable GGUF model: cannot open GGUF file: EACCES'))).toEqual({ key: 'gguf.unreadable' });
    expect(ggufFileProblem(checked('not a usable GGUF model: invalid GGUF: EISDIR: illegal operation on a directory, read'))).toEqual({ key: 'gguf.folder' });
    expect(ggufFileProblem(checked('not a usable GGUF model: invalid GGUF: not a GGUF file (bad magic)'))).toEqual({ key: 'chat.modelNotGguf' });
    expect(ggufFileProblem(checked('not a usable GGUF model: invalid GGUF: file too small to be GGUF'))).toEqual({ key: 'chat.modelNotGguf' });
    expect(ggufFileProblem(checked('this is a LoRA adapter, not a model'))).toEqual({ key: 'chat.modelIsAdapter' });
  });

  it('says the same of adapters, in an adapter\'s terms', () => {
    expect(ggufFileProblem(checked('not a usable LoRA adapter: invalid GGUF: not a GGUF file (bad magic)'), 'adapter')).toEqual({ key: 'chat.adapterNotGguf' });
    expect(ggufFileProblem(checked('this GGUF file is a model, not a LoRA adapter'), 'adapter')).toEqual({ key: 'chat.adapterIsModel' });
    expect(ggufFileProblem(checked('not a usable LoRA adapter: cannot open GGUF file: ENOENT'), 'adapter')).toEqual({ key: 'gguf.missing' });
  });

  it('keeps the engine\'s words when there is no plainer reason, and a lost connection as such', () => {
    expect(ggufFileProblem(checked('not a usable GGUF model: invalid GGUF: unsupported GGUF version 9'))).toEqual({
      key: 'chat.modelUnusable', params: { detail: 'not a usable GGUF model: invalid GGUF: unsupported GGUF version 9' },
    });
    expect(ggufFileProblem(new ApiError('DISCONNECTED', 'socket closed'))).toEqual({ key: 'error.DISCONNECTED' });
  });
});

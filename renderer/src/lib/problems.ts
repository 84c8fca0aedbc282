import type { MessageKey } from '../locales/en';
import { toApiError } from './api-error';
import type { Params } from './translate';

/**
 * A failure to show the user, kept as a message key plus params rather than a finished string so that it is
 * re-translated when the language changes.
 */
export interface Problem {
  key: MessageKey;
  params?: Params;
}

export function problemOf(err: unknown): Problem {
  const error = toApiError(err);
  switch (error.code) {
    case 'DISCONNECTED':
      return { key: 'error.DISCONNECTED' };
    case 'UPLOAD_FAILED':
      return { key: 'error.UPLOAD_FAILED', params: { path: error.path ?? '', message: error.message } };
    case 'BAD_RESPONSE':
      return { key: 'error.BAD_RESPONSE', params: { message: error.message } };
    case 'BUSY':
      // Said in the UI's language by the kind of work in the way (a download names its model in the message).
      if (error.busyWith && error.busyWith !== 'download') return { key: `error.BUSY.${error.busyWith}` };
      return { key: 'error.generic', params: { message: error.message } };
    default:
      // A failure about a file or folder names it.
      return error.path ? { key: 'error.withPath', params: { path: error.path, message: error.message } } : { key: 'error.generic', params: { message: error.message } };
  }
}

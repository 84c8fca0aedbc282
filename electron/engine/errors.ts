/**
 * The engine's one error class. Every failure the user can act on carries a stable code and, where a file is
 * involved, its path; the doors (CLI, IPC, WebSocket) convert it to text/JSON in one place (`toWireError`).
 */
import type { JobKind, WireError } from '../shared/contract.js';

export type ErrorCode =
  | 'BAD_ARGUMENT'
  | 'NOT_FOUND'
  | 'UNSUPPORTED_FORMAT'
  | 'PARSE_FAILED'
  | 'EMPTY_DOCUMENT'
  | 'NO_TEXT_LAYER'
  | 'ENCRYPTED'
  | 'TOO_LARGE'
  | 'TIMEOUT'
  | 'ENCODING'
  | 'WORKSPACE'
  | 'MODEL'
  /** A server (an API teacher or judge) that cannot be reached at all: refused, unknown host, TLS, no answer. */
  | 'CONNECTION'
  /** A compute device asked for by name that this machine does not have or cannot start. */
  | 'DEVICE_UNAVAILABLE'
  | 'OUT_OF_MEMORY'
  | 'BUSY'
  | 'CANCELLED'
  | 'INTERNAL';

export class DocTuneError extends Error {
  readonly code: ErrorCode;
  readonly path?: string;
  /** With BUSY: the kind of work in the way (the UI says it in its own language). */
  readonly busyWith?: JobKind;

  constructor(code: ErrorCode, message: string, options?: { path?: string; cause?: unknown; busyWith?: JobKind }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DocTuneError';
    this.code = code;
    if (options?.path !== undefined) this.path = options.path;
    if (options?.busyWith !== undefined) this.busyWith = options.busyWith;
  }
}

export type WireErrorShape = WireError;

/** The single conversion point from anything thrown to what crosses a boundary. */
export function toWireError(err: unknown): WireErrorShape {
  if (err instanceof DocTuneError) {
    return { code: err.code, message: err.message, ...(err.path !== undefined ? { path: err.path } : {}), ...(err.busyWith ? { busyWith: err.busyWith } : {}) };
  }
  if (err && typeof err === 'object' && 'issues' in err && Array.isArray((err as { issues: unknown[] }).issues)) {
    // A schema validation failure (zod): say which field.
    const issues = (err as { issues: { path: (string | number)[]; message: string }[] }).issues;
    const first = issues[0];
    const where = first && first.path.length ? `${first.path.join('.')}: ` : '';
    return { code: 'BAD_ARGUMENT', message: `invalid arguments: ${where}${first?.message ?? 'bad payload'}` };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL', message };
}

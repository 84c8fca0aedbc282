import { WireError, type JobKind } from '$shared/contract';

/** Every failure the UI sees, from either door, with the engine's stable error code. */
export class ApiError extends Error {
  readonly code: string;
  readonly path?: string;
  /** With BUSY: the kind of work in the way. */
  readonly busyWith?: JobKind;

  constructor(code: string, message: string, path?: string, busyWith?: JobKind) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    if (path !== undefined) this.path = path;
    if (busyWith !== undefined) this.busyWith = busyWith;
  }

  static fromWire(wire: WireError): ApiError {
    return new ApiError(wire.code, wire.message, wire.path, wire.busyWith);
  }
}

/** Normalise anything thrown (wire errors, Electron IPC errors, zod errors) into an ApiError. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const wire = WireError.safeParse(err);
  if (wire.success) return ApiError.fromWire(wire.data);
  const message = err instanceof Error ? err.message : String(err);
  // Electron wraps rejections from ipcMain as "Error invoking remote method 'x': CODE: message".
  const ipc = /^Error invoking remote method '[^']+': (?:\w*Error: )?([A-Z_]+): ([\s\S]*)$/.exec(message);
  if (ipc) return new ApiError(ipc[1] ?? 'INTERNAL', ipc[2] ?? message);
  return new ApiError('INTERNAL', message);
}

/**
 * The engine's log: JSON lines (pino) in rotating files (rotating-file-stream: 10 MB a file, five kept). The
 * app writes to `<user data>/logs`, `doctune ui` and `doctune serve` too, other commands with `--log-file`.
 * Until logging is configured nothing is written, so the engine used as a library (and in tests) stays quiet.
 * Errors that are handled rather than shown (a cache that could not be cleaned, a judge that would not close)
 * go here with what was being done, so that a support request has something to go on.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pino, stdTimeFunctions, type Level, type Logger } from 'pino';
import { createStream, type RotatingFileStream } from 'rotating-file-stream';
import { userDataDir } from './paths.js';

let logger: Logger = pino({ level: 'silent' });
let stream: RotatingFileStream | null = null;
let file: string | null = null;

/** The default folder of the app's and the long-running commands' logs. */
export function defaultLogDir(): string {
  return path.join(userDataDir(), 'logs');
}

/** Log to `logFile` (its folder is created), rotating at 10 MB and keeping five files. Replaces earlier settings. */
export function configureLogging(logFile: string, o: { level?: Level; process?: string; size?: `${number}${'K' | 'M'}` } = {}): void {
  void closeLogging();
  const full = path.resolve(logFile);
  fs.mkdirSync(path.dirname(full), { recursive: true });
  stream = createStream(path.basename(full), { path: path.dirname(full), size: o.size ?? '10M', maxFiles: 5 });
  // A log that cannot be written must never stop the work it describes.
  stream.on('error', (err: Error) => process.stderr.write(`doctune: cannot write the log ${full}: ${err.message}\n`));
  file = full;
  logger = pino({ level: o.level ?? 'info', timestamp: stdTimeFunctions.isoTime, base: { pid: process.pid, process: o.process ?? 'engine' } }, stream);
}

/** Stop logging; resolves once what was logged is on disk. */
export function closeLogging(): Promise<void> {
  const s = stream;
  stream = null;
  file = null;
  logger = pino({ level: 'silent' });
  return new Promise((resolve) => (s ? s.end(() => resolve()) : resolve()));
}

/** The file being written, or null when logging is off. */
export function logFile(): string | null {
  return file;
}

/** The engine's logger (whatever is configured at the time of the call). */
export const log = {
  debug: (msg: string, fields: Record<string, unknown> = {}): void => logger.debug(fields, msg),
  info: (msg: string, fields: Record<string, unknown> = {}): void => logger.info(fields, msg),
  warn: (msg: string, fields: Record<string, unknown> = {}): void => logger.warn(fields, msg),
  error: (msg: string, fields: Record<string, unknown> = {}): void => logger.error(fields, msg),
};

/**
 * For errors handled by carrying on: `.catch(logged('closing the judge model'))` logs the error with what was
 * being done and resolves to undefined.
 */
export function logged(doing: string, fields: Record<string, unknown> = {}): (err: unknown) => undefined {
  return (err: unknown) => {
    logger.warn({ ...fields, err: err instanceof Error ? err : new Error(String(err)) }, `${doing} failed`);
    return undefined;
  };
}

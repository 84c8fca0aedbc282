/**
 * The entry file of a worker process that sits beside the module starting it: the .ts source under tsx (tests,
 * development), the compiled .js otherwise. A file path, not a URL's pathname: on Windows that would be
 * `/C:/…`, and a folder with a space or a non-ASCII name would stay percent-encoded.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface WorkerEntry {
  file: string;
  execArgv: string[];
}

/** `moduleUrl` is the caller's import.meta.url; `name` the worker's file name without extension. */
export function workerEntry(moduleUrl: string, name: string, options: { windows?: boolean } = {}): WorkerEntry {
  const self = fileURLToPath(moduleUrl, options);
  const join = options.windows ? path.win32.join : path.join;
  const dirname = options.windows ? path.win32.dirname : path.dirname;
  const source = self.endsWith('.ts');
  return { file: join(dirname(self), `${name}${source ? '.ts' : '.js'}`), execArgv: source ? ['--import', 'tsx'] : [] };
}

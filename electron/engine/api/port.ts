/** Ports for the servers DocTune starts (serve, ui): checked before a model loads, and listen errors in words. */
import net from 'node:net';
import { DocTuneError } from '../errors.js';

/** A listen failure as the user can act on it (the port taken, a privileged port, an address not ours). */
export function listenError(err: unknown, host: string, port: number): DocTuneError {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'EADDRINUSE') {
    return new DocTuneError('BUSY', `port ${port} on ${host} is already in use (another server?): choose another with --port, or --port 0 for any free one`);
  }
  if (code === 'EACCES') return new DocTuneError('BAD_ARGUMENT', `port ${port} on ${host} needs privileges to listen on: choose one above 1023`);
  if (code === 'EADDRNOTAVAIL') return new DocTuneError('BAD_ARGUMENT', `${host} is not an address of this machine (--host)`);
  if (err instanceof DocTuneError) return err;
  return new DocTuneError('BAD_ARGUMENT', `cannot listen on ${host}:${port}: ${(err as Error).message}`, { cause: err });
}

/** Fails now, with listenError's words, if the port cannot be listened on (0, any free port, always can). */
export async function ensurePortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const server = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
  } catch (err) {
    throw listenError(err, host, port);
  } finally {
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * The parent's end of a worker process: Electron's utilityProcess (parentPort) in the packaged app, Node's
 * fork IPC everywhere else. Both workers (chat, llama) use it.
 */
interface ParentPort { postMessage(m: unknown): void; on(e: 'message', l: (ev: { data: unknown }) => void): void }
const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;

export function sendToParent(m: unknown): void {
  if (parentPort) parentPort.postMessage(m);
  else process.send?.(m);
}

export function onParentMessage(listener: (m: unknown) => void): void {
  if (parentPort) parentPort.on('message', (e) => listener(e.data));
  else process.on('message', listener);
}

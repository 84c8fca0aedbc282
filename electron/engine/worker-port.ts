/**
 * The parent's end of a worker process: Electron's utilityProcess (parentPort) in the packaged app, Node's
 * fork IPC everywhere else. Every worker (chat, llama, training) uses it.
 */
interface ParentPort { postMessage(m: unknown): void; on(e: 'message', l: (ev: { data: unknown }) => void): void }
const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;

export function sendToParent(m: unknown): void {
  if (parentPort) parentPort.postMessage(m);
  else if (process.connected) process.send?.(m);
}

export function onParentMessage(listener: (m: unknown) => void): void {
  if (parentPort) parentPort.on('message', (e) => listener(e.data));
  else process.on('message', listener);
}

/**
 * When the parent goes away without a word (killed, or crashed). Forked workers run in their own process
 * group, so that a terminal's Ctrl-C reaches only the parent, which stops them in order; this is what ends
 * them when the parent cannot. (A utility process is ended by Electron with its parent.)
 */
export function onParentGone(listener: () => void): void {
  if (!parentPort) process.on('disconnect', listener);
}

/**
 * Send the last message, then let the parent go: a forked process disconnects once the message is flushed
 * (disconnecting earlier would lose it); a utility process is ended by its parent.
 */
export function sendLastToParent(m: unknown): void {
  if (parentPort) parentPort.postMessage(m);
  else if (process.connected) process.send?.(m, () => process.connected && process.disconnect?.());
}

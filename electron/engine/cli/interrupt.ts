/**
 * Ctrl-C for long commands: the first one stops the work in order (training finishes its step and saves a
 * checkpoint, generation keeps what it answered) and says so; a second one ends everything at once. The
 * workers run in their own process group, so the terminal's signal reaches only this process.
 */
import { killAllWorkers } from '../worker-launcher.js';

/** Exit status of a command stopped by Ctrl-C (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

export interface Interruptible {
  signal: AbortSignal;
  dispose(): void;
}

export function interruptible(stopping: string, stream: NodeJS.WritableStream = process.stderr): Interruptible {
  const controller = new AbortController();
  const onSignal = (): void => {
    if (!controller.signal.aborted) {
      stream.write(`\n${stopping} (Ctrl-C again to stop at once)\n`);
      controller.abort();
      return;
    }
    killAllWorkers();
    process.exit(EXIT_INTERRUPTED);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

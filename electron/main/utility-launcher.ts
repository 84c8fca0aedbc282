/**
 * The training worker as an Electron utility process: a packaged app cannot fork itself as Node (the
 * RunAsNode fuse is off), and a utility process is Chromium's supported way to run Node code out of the main
 * process. A native abort there ends only that process.
 */
import { utilityProcess } from 'electron';
import type { WorkerLauncher } from '../engine/worker-launcher.js';

export const utilityLauncher: WorkerLauncher = (file, _execArgv, env) => {
  const child = utilityProcess.fork(file, [], { env: env as Record<string, string>, stdio: ['ignore', 'ignore', 'pipe'], serviceName: 'DocTune training' });
  let ended = false;
  child.on('exit', () => {
    ended = true;
  });
  return {
    get pid() {
      return child.pid;
    },
    send: (m) => child.postMessage(m),
    onMessage: (l) => void child.on('message', l),
    // A utility process reports its exit code only; a crash shows as a non-zero code.
    onExit: (l) => void child.on('exit', (code) => l(code, null)),
    onStderr: (l) => void child.stderr?.on('data', (d: Buffer) => l(d.toString())),
    exited: () => ended,
    kill: () => void child.kill(),
    // Electron's kill() ends the process outright: there is no gentler signal to send it.
    killNow: () => void child.kill(),
  };
};

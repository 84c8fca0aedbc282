/**
 * How the training worker process is started. Node's child_process.fork by default (the CLI, browser mode,
 * tests); the desktop app installs Electron's utilityProcess instead, since a packaged Electron app cannot
 * fork itself as Node (its RunAsNode fuse is off). The engine stays free of Electron: the app passes the
 * launcher in.
 */
import { fork } from 'node:child_process';

export interface WorkerHandle {
  readonly pid: number | undefined;
  send(message: unknown): void;
  onMessage(listener: (message: unknown) => void): void;
  onExit(listener: (code: number | null, signal: string | null) => void): void;
  onStderr(listener: (text: string) => void): void;
  /** Whether it has ended (then kill() does nothing). */
  exited(): boolean;
  kill(): void;
  /** SIGKILL: no cleanup, no checkpoint. */
  killNow(): void;
}

/** file: the worker module; execArgv: Node flags it needs (a TypeScript loader when run from source). */
export type WorkerLauncher = (file: string, execArgv: string[], env: NodeJS.ProcessEnv) => WorkerHandle;

/** Workers alive now, so that a second Ctrl-C can end them all at once. */
const live = new Set<WorkerHandle>();

export const forkLauncher: WorkerLauncher = (file, execArgv, env) => {
  // Its own process group on POSIX: a terminal's Ctrl-C signals the whole foreground group, and the worker
  // must outlive it long enough to be stopped in order (training saves a checkpoint at the step boundary).
  // A worker whose parent dies ends itself (worker-port's onParentGone).
  const child = fork(file, [], { execArgv, env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'advanced', detached: process.platform !== 'win32' });
  // A worker that failed to start, or died just before a message to it: its exit is the report (the exit
  // listener fails what was in flight); without a listener the 'error' would end this process.
  child.on('error', () => undefined);
  const exited = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const handle: WorkerHandle = {
    pid: child.pid,
    send: (m) => {
      if (exited() || !child.connected) return;
      child.send(m as object, (err) => void err);
    },
    onMessage: (l) => void child.on('message', l),
    onExit: (l) => void child.on('exit', (code, signal) => l(code, signal)),
    onStderr: (l) => void child.stderr?.on('data', (d: Buffer) => l(d.toString())),
    exited,
    kill: () => void child.kill(),
    killNow: () => void child.kill('SIGKILL'),
  };
  live.add(handle);
  child.once('exit', () => live.delete(handle));
  return handle;
};

/** End every worker at once, without waiting for a step boundary (a second Ctrl-C). */
export function killAllWorkers(): void {
  for (const w of live) w.killNow();
}

let current: WorkerLauncher = forkLauncher;

export function setWorkerLauncher(launcher: WorkerLauncher): void {
  current = launcher;
}

export function launchWorker(file: string, execArgv: string[], env: NodeJS.ProcessEnv): WorkerHandle {
  return current(file, execArgv, env);
}

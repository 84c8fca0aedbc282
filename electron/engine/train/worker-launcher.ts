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
}

/** file: the worker module; execArgv: Node flags it needs (a TypeScript loader when run from source). */
export type WorkerLauncher = (file: string, execArgv: string[], env: NodeJS.ProcessEnv) => WorkerHandle;

export const forkLauncher: WorkerLauncher = (file, execArgv, env) => {
  const child = fork(file, [], { execArgv, env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'advanced' });
  return {
    pid: child.pid,
    send: (m) => void child.send(m as object),
    onMessage: (l) => void child.on('message', l),
    onExit: (l) => void child.on('exit', (code, signal) => l(code, signal)),
    onStderr: (l) => void child.stderr?.on('data', (d: Buffer) => l(d.toString())),
    exited: () => child.exitCode !== null || child.signalCode !== null,
    kill: () => void child.kill(),
  };
};

let current: WorkerLauncher = forkLauncher;

export function setWorkerLauncher(launcher: WorkerLauncher): void {
  current = launcher;
}

export function launchWorker(file: string, execArgv: string[], env: NodeJS.ProcessEnv): WorkerHandle {
  return current(file, execArgv, env);
}

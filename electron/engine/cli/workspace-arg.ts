/**
 * The engine as a command uses it. Only `ingest`, `dataset import` and `pipeline` create a workspace; every
 * other command needs one that exists, so that a mistyped folder is an error rather than a new, empty
 * workspace.
 */
import path from 'node:path';
import { Engine, type EngineOptions } from '../api/engine.js';
import { DocTuneError } from '../errors.js';
import { UsageError } from './options.js';

/** The workspace folder, which must hold a workspace (usage error otherwise). */
export async function requireWorkspace(dir: string): Promise<string> {
  const abs = path.resolve(dir);
  if (!(await Engine.workspaceExists(abs))) {
    throw new UsageError(`no workspace at ${abs} (run \`doctune ingest FILES… --workspace ${abs}\` first)`);
  }
  return abs;
}

/**
 * Run one command's work on an engine, closed afterwards. `workspace`: an existing workspace (required),
 * or, with `create`, one made when missing; none for work on files named on the command line.
 */
export async function withEngine<T>(
  o: { workspace?: string | undefined; create?: boolean; threads?: number | undefined } & Omit<EngineOptions, 'workspaceDir' | 'threads'>,
  work: (engine: Engine) => Promise<T>,
): Promise<T> {
  const { workspace, create, threads, ...rest } = o;
  const dir = workspace === undefined ? undefined : create ? path.resolve(workspace) : await requireWorkspace(workspace);
  const engine = new Engine({ ...rest, ...(dir ? { workspaceDir: dir, createWorkspace: Boolean(create) } : {}), ...(threads ? { threads: Math.max(1, threads) } : {}) });
  try {
    return await work(engine);
  } finally {
    await engine.close();
  }
}

/**
 * An argument that names nothing (no such document, pair or run; one matching several) is a command line
 * that cannot run as given: exit status 2, as a mistyped option is.
 */
export async function named<T>(lookup: Promise<T> | (() => T | Promise<T>)): Promise<T> {
  try {
    return await (typeof lookup === 'function' ? lookup() : lookup);
  } catch (err) {
    throw asUsage(err);
  }
}

function asUsage(err: unknown): unknown {
  return err instanceof DocTuneError && (err.code === 'NOT_FOUND' || err.code === 'BAD_ARGUMENT') ? new UsageError(err.message) : err;
}

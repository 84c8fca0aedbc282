import { InvalidArgumentError, Option } from 'commander';
import { defaultWorkspaceDir } from '../paths.js';

/** A command line that cannot run as given (exit status 2); failures of the work itself exit 1. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Option parsers shared by the commands. */
export const int = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
};

export const num = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number');
  return n;
};

/** A whole number of at least one. */
export const positiveInt = (v: string): number => {
  const n = int(v);
  if (n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
};

/** --seq: auto (0: the model's context, capped) or a length of at least 16 tokens. */
export const seqLength = (v: string): number => {
  if (v.toLowerCase() === 'auto') return 0;
  const n = int(v);
  if (n < 16) throw new InvalidArgumentError('expected auto or a length of at least 16 tokens');
  return n;
};

/** One of a fixed set of words, case-insensitive. */
export const oneOf = <T extends string>(choices: readonly T[]) => (v: string): T => {
  const w = v.toLowerCase() as T;
  if (!choices.includes(w)) throw new InvalidArgumentError(`expected ${choices.join(' | ')}`);
  return w;
};

/** A TCP port; 0 lets the system pick a free one. */
export const port = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('port must be 0–65535 (0: any free port)');
  return n;
};

/** --workspace as every command takes it: DOCTUNE_WORKSPACE, else the default workspace in the user-data folder. */
export const workspaceOption = (creates = false): Option =>
  new Option('-w, --workspace <dir>', creates ? 'workspace folder (created if missing)' : 'workspace folder').default(defaultWorkspaceDir()).env('DOCTUNE_WORKSPACE');

/** An optional --workspace (chat --rag, eval): DOCTUNE_WORKSPACE too, no default. */
export const optionalWorkspaceOption = (what: string): Option => new Option('-w, --workspace <dir>', what).env('DOCTUNE_WORKSPACE');

/**
 * The engine's background jobs in one place: imports, generation, the New adapter pipeline, evaluation, chat
 * answers and model downloads. Each job has an id, an abort signal and a slot; which kinds may not run
 * together is one table (CONFLICTS), and a request that would clash is refused with the `BUSY` code, naming
 * the work in the way.
 */
import { randomUUID } from 'node:crypto';
import type { JobKind } from '../../shared/contract.js';
import { DocTuneError } from '../errors.js';
import { log, logged } from '../log.js';

export type { JobKind };

/** What a new job of a kind must wait for. Imports queue among themselves; chat answers run side by side. */
export const CONFLICTS: Record<JobKind, readonly JobKind[]> = {
  import: [],
  sync: ['generate', 'pipeline'],
  // The pipeline writes QA pairs too, and passages still being imported would get none.
  generate: ['generate', 'pipeline'],
  pipeline: ['pipeline', 'generate', 'import', 'sync'],
  evaluate: ['evaluate'],
  chat: [],
  // One download per model (by key); different models download side by side.
  download: [],
};

/** Why a request is refused, by the work in its way. */
const BUSY_BECAUSE: Record<JobKind, string> = {
  import: 'documents are still being imported: wait for them to finish',
  sync: 'a watched folder is being brought up to date: wait for it to finish',
  generate: 'QA pairs are being generated (Training set page): wait for it or cancel it',
  pipeline: 'an adapter is being made (New adapter), and it writes QA pairs too: wait for it or stop it',
  evaluate: 'an evaluation is already running: wait for it or stop it',
  chat: 'an answer is being written',
  download: 'this model is already being downloaded',
};

export class BusyError extends DocTuneError {
  constructor(busyWith: JobKind, message = BUSY_BECAUSE[busyWith]) {
    super('BUSY', message, { busyWith });
  }
}

export interface Job {
  readonly id: string;
  readonly kind: JobKind;
  readonly key: string | undefined;
  readonly signal: AbortSignal;
  /** Free the slot now (before a job's end event goes out, so that a listener may start the next at once). */
  release(): void;
}

interface Slot extends Job {
  controller: AbortController;
  done: Promise<void>;
}

export interface StartOptions<S> {
  kind: JobKind;
  /** Jobs of one kind with the same key exclude each other (a model's download). */
  key?: string;
  /**
   * Set-up, run before the request answers: its failure is the request's error (and frees the slot). The slot
   * is taken before it starts, so two quick requests cannot both begin.
   */
  setup?: (job: Job) => Promise<S>;
  /** The work, in the background. It reports its own end (events) and should not throw; the slot is freed after. */
  run: (value: S, job: Job) => Promise<void>;
}

export class JobSlots {
  private readonly slots = new Map<string, Slot>();

  /** Work that runs outside the slots but counts for conflicts (a watched folder's sync). */
  constructor(private readonly outside: () => readonly JobKind[] = () => []) {}

  /** The kinds running now. */
  runningKinds(): Set<JobKind> {
    return new Set([...[...this.slots.values()].map((s) => s.kind), ...this.outside()]);
  }

  isRunning(kind: JobKind): boolean {
    return this.runningKinds().has(kind);
  }

  /** The kind of work that would refuse a new job of `kind` (with `key`), or null when it may start. */
  busyWith(kind: JobKind, key?: string): JobKind | null {
    if (key !== undefined && [...this.slots.values()].some((s) => s.kind === kind && s.key === key)) return kind;
    const running = this.runningKinds();
    return CONFLICTS[kind].find((k) => running.has(k)) ?? null;
  }

  /** Start a job, or throw BUSY. Resolves with its id and what set-up returned, once set-up is done. */
  async start<S = undefined>(o: StartOptions<S>): Promise<{ jobId: string; value: S }> {
    const busy = this.busyWith(o.kind, o.key);
    if (busy) {
      log.info('job refused: busy', { kind: o.kind, busyWith: busy });
      throw new BusyError(busy);
    }
    const controller = new AbortController();
    const slot: Slot = {
      id: randomUUID(), kind: o.kind, key: o.key, signal: controller.signal, controller, done: Promise.resolve(),
      release: () => {
        if (this.slots.get(slot.id) === slot) this.slots.delete(slot.id);
      },
    };
    this.slots.set(slot.id, slot);
    log.info('job started', { kind: o.kind, jobId: slot.id, ...(o.key ? { key: o.key } : {}) });
    const setup = o.setup ? o.setup(slot) : Promise.resolve(undefined as S);
    slot.done = setup
      .then((value) => o.run(value, slot), () => undefined)
      .catch(logged(`the ${o.kind} job`, { jobId: slot.id }))
      .finally(() => {
        slot.release();
        log.info('job ended', { kind: o.kind, jobId: slot.id, aborted: controller.signal.aborted });
      });
    try {
      return { jobId: slot.id, value: await setup };
    } catch (err) {
      slot.release();
      log.info('job refused at set-up', { kind: o.kind, jobId: slot.id, err });
      throw err;
    }
  }

  /**
   * Run a job in the foreground (a command waits for it): the same slot and conflicts as a background job,
   * its result or error returned; `signal` (Ctrl-C) aborts it.
   */
  async run<T>(kind: JobKind, work: (job: Job) => Promise<T>, o: { key?: string; signal?: AbortSignal } = {}): Promise<T> {
    let result: { ok: true; value: T } | { ok: false; err: unknown } | undefined;
    let resolveDone!: () => void;
    const finished = new Promise<void>((resolve) => (resolveDone = resolve));
    await this.start({
      kind, ...(o.key !== undefined ? { key: o.key } : {}),
      run: async (_none, job) => {
        const abort = (): boolean => this.cancel(job.id, kind);
        o.signal?.addEventListener('abort', abort, { once: true });
        if (o.signal?.aborted) abort();
        try {
          result = { ok: true, value: await work(job) };
        } catch (err) {
          result = { ok: false, err };
        } finally {
          o.signal?.removeEventListener('abort', abort);
          job.release();
          resolveDone();
        }
      },
    });
    await finished;
    if (!result!.ok) throw result!.err;
    return result!.value;
  }

  /** Abort a job of this kind by id; false when there is none (finished, or another kind's id). */
  cancel(jobId: string, kind: JobKind): boolean {
    const slot = this.slots.get(jobId);
    if (!slot || slot.kind !== kind) return false;
    slot.controller.abort();
    return true;
  }

  /** The running job of a kind that allows one at a time (generation, the pipeline, evaluation). */
  current(kind: JobKind): Job | null {
    return [...this.slots.values()].find((s) => s.kind === kind) ?? null;
  }

  /** Abort every job (of the given kinds, or all) and wait for them to end. */
  async close(kinds?: readonly JobKind[]): Promise<void> {
    const closing = [...this.slots.values()].filter((s) => !kinds || kinds.includes(s.kind));
    for (const s of closing) s.controller.abort();
    await Promise.all(closing.map((s) => s.done));
  }
}

/**
 * How many threads llama.cpp and ggml get by default: the physical cores that are free right now. ggml's
 * thread pool busy-waits at every barrier, so a thread without a core of its own stalls all the others
 * (16 tokens took 50 s instead of 20 ms with 4 threads on a busy 2-core machine). Busy cores are measured,
 * not guessed, so DocTune's own other work (training, an import, a second model) counts as well as any other
 * program's. One place for the CLI, the app and browser mode.
 */
import fs from 'node:fs';
import os from 'node:os';

/** A thread count, or a function that works it out when a model is loaded (the default). */
export type ThreadCount = number | (() => Promise<number>);

let physical: number | null = null;

/** Physical cores: Linux's CPU topology (threads sharing a core counted once); elsewhere the logical CPUs. */
export function physicalCores(): number {
  if (physical !== null) return physical;
  const logical = Math.max(1, os.availableParallelism());
  let cores = logical;
  try {
    const base = '/sys/devices/system/cpu';
    const seen = new Set<string>();
    for (const name of fs.readdirSync(base)) {
      if (!/^cpu\d+$/.test(name)) continue;
      const file = `${base}/${name}/topology/thread_siblings_list`;
      if (fs.existsSync(file)) seen.add(fs.readFileSync(file, 'utf8').trim());
    }
    if (seen.size > 0) cores = Math.min(logical, seen.size);
  } catch {
    // no topology (not Linux): the logical count stands
  }
  physical = cores;
  return cores;
}

/** Logical CPUs left idle over `sampleMs` (the idle share of each CPU, summed). */
export async function idleCpus(sampleMs = 200): Promise<number> {
  const before = os.cpus();
  await new Promise((r) => setTimeout(r, sampleMs));
  const after = os.cpus();
  let idle = 0;
  after.forEach((c, i) => {
    const b = before[i];
    if (!b) return;
    const total = Object.values(c.times).reduce((s, v) => s + v, 0) - Object.values(b.times).reduce((s, v) => s + v, 0);
    if (total > 0) idle += (c.times.idle - b.times.idle) / total;
  });
  return idle;
}

/** The default: as many threads as there are free physical cores now (at least one). */
export async function defaultThreads(): Promise<number> {
  const logical = Math.max(1, os.cpus().length);
  const cores = physicalCores();
  // Idle logical CPUs scaled to cores (on SMT machines two logical CPUs share one core's arithmetic).
  const free = ((await idleCpus()) * cores) / logical;
  // A core three quarters idle counts as free; less, and a thread there would wait at every barrier.
  return Math.max(1, Math.min(cores, Math.floor(free + 0.25)));
}

export async function resolveThreads(t: ThreadCount | undefined): Promise<number> {
  if (typeof t === 'number' && t > 0) return Math.floor(t);
  if (typeof t === 'function') return Math.max(1, Math.floor(await t()));
  return defaultThreads();
}

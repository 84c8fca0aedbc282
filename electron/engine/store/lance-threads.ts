/**
 * LanceDB's compute pool, sized before LanceDB first starts it. Its full-text index build runs producers on
 * that pool which block until a consumer drains them, and the consumer needs a pool thread of its own: when
 * the producers hold every thread, every thread parks and the build never finishes (lancedb/lancedb#3568,
 * fixed upstream after the version DocTune pins). On a 2-core machine Lance's default pool of 2 threads hung on
 * a 20,000-passage index; 3 threads built it in under a second. Two more threads than cores keeps one free; a
 * value the user set is kept.
 */
import { availableParallelism } from 'node:os';

export const LANCE_CPU_THREADS_VAR = 'LANCE_CPU_THREADS';

export function lanceCpuThreads(cores = availableParallelism()): number {
  return Math.max(4, cores + 2);
}

if (!process.env[LANCE_CPU_THREADS_VAR]) process.env[LANCE_CPU_THREADS_VAR] = String(lanceCpuThreads());

import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import path from 'node:path';

export default defineConfig({
  plugins: [svelte()],
  resolve: { alias: { $shared: path.resolve(import.meta.dirname, 'electron/shared') } },
  test: {
    include: ['electron/**/*.test.ts', 'renderer/**/*.test.ts', 'scripts/**/*.test.ts'],
    // Parsing, LanceDB and llama.cpp are CPU-bound: one test file at a time on a 2-core machine.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    env: { GGML_NO_BACKTRACE: '1' },
  },
});

import { builtinModules } from 'node:module';
import path from 'node:path';
import { defineConfig } from 'vite';
import pkg from './package.json' with { type: 'json' };

// Native and heavyweight dependencies stay in node_modules (packaged beside the bundle, .node files
// unpacked from the asar); our own code is bundled into .vite/build as ES modules.
const external = [
  'electron',
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
  ...Object.keys(pkg.dependencies),
].map((name) => new RegExp(`^${name.replace(/[/\\^$*+?.()|[\]{}]/g, '\\$&')}(/.*)?$`));

export default defineConfig({
  build: {
    outDir: path.resolve(import.meta.dirname, '.vite/build'),
    emptyOutDir: false,
    target: 'node20',
    minify: false,
    sourcemap: true,
    lib: {
      entry: {
        main: path.resolve(import.meta.dirname, 'electron/main/main.ts'),
        'parse-worker': path.resolve(import.meta.dirname, 'electron/engine/ingest/parse-worker.ts'),
        // Forked beside main.js for training and the device probe (train-supervisor's workerEntry).
        'train-worker': path.resolve(import.meta.dirname, 'electron/engine/train/train-worker.ts'),
        // llama.cpp chat and serving, supervised (chat-host's workerEntry).
        'chat-worker': path.resolve(import.meta.dirname, 'electron/engine/chat/chat-worker.ts'),
        // llama.cpp for the local teacher, the judge and the embedding model, supervised (llama-host's workerEntry).
        'llama-worker': path.resolve(import.meta.dirname, 'electron/engine/models/llama-worker.ts'),
      },
      formats: ['es'],
      fileName: (_format, name) => `${name}.js`,
    },
    rollupOptions: { external },
  },
  resolve: { conditions: ['node'], mainFields: ['module', 'jsnext:main', 'jsnext'] },
});

import path from 'node:path';
import { defineConfig } from 'vite';

// Sandboxed preloads run as CommonJS with only `electron` to require: bundle everything else in.
export default defineConfig({
  build: {
    outDir: path.resolve(import.meta.dirname, '.vite/build'),
    emptyOutDir: false,
    target: 'chrome120',
    minify: false,
    lib: {
      entry: path.resolve(import.meta.dirname, 'electron/preload/preload.ts'),
      formats: ['cjs'],
      fileName: () => 'preload.cjs',
    },
    // Explicit, because Forge's preload defaults name the output [name].js.
    rollupOptions: { external: ['electron'], output: { entryFileNames: 'preload.cjs', inlineDynamicImports: true } },
  },
});

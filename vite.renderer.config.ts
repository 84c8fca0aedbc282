import { defineConfig, type ConfigEnv } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import path from 'node:path';

// One renderer build serves both doors: Electron Forge builds it into .vite/renderer/<name> (it passes
// `forgeConfigSelf`), the browser mode (`doctune ui`) serves dist/renderer.
export default defineConfig((env: ConfigEnv & { forgeConfigSelf?: { name?: string } }) => {
  // DOCTUNE_RENDERER_NAME builds the Electron layout without Forge (used by the Electron e2e test).
  const forgeName = env.forgeConfigSelf?.name ?? process.env.DOCTUNE_RENDERER_NAME;
  return {
    root: path.resolve(import.meta.dirname, 'renderer'),
    base: './',
    plugins: [svelte({ configFile: path.resolve(import.meta.dirname, 'svelte.config.js') })],
    resolve: {
      alias: { $shared: path.resolve(import.meta.dirname, 'electron/shared') },
    },
    build: {
      outDir: forgeName
        ? path.resolve(import.meta.dirname, `.vite/renderer/${forgeName}`)
        : path.resolve(import.meta.dirname, 'dist/renderer'),
      emptyOutDir: true,
      target: 'chrome120',
    },
    clearScreen: false,
  };
});

import type { ForgeConfig } from '@electron-forge/shared-types';
import { VitePlugin } from '@electron-forge/plugin-vite';
import { FusesPlugin } from '@electron-forge/plugin-fuses';
import { FuseV1Options, FuseVersion } from '@electron/fuses';

// Forge builds and packages the app (`npm start`, `npm run package`); electron-builder turns the packaged
// app into installers (`npm run dist`, see electron-builder.config.cjs).
const KEEP = [/^\/\.vite(\/|$)/, /^\/native(\/prebuilds(\/[^/]+(\/doctune_native\.node)?)?)?$/, /^\/node_modules(\/|$)/, /^\/resources(\/|$)/, /^\/package\.json$/];

const config: ForgeConfig = {
  packagerConfig: {
    name: 'DocTune',
    executableName: 'doctune',
    appBundleId: 'app.doctune.desktop',
    icon: 'resources/icon',
    // Native addons and llama.cpp's shared libraries must live outside the asar to be loaded.
    // Native libraries, and Tesseract's worker, WebAssembly core and language data (OCR runs them in worker
    // threads, which read real files), stay outside the archive.
    asar: {
      unpack: '**/{*.node,*.so,*.so.*,*.dylib,*.dll,*.metal,*.exe}',
      unpackDir: '**/node_modules/{tesseract.js,tesseract.js-core,@tesseract.js-data}',
    },
    // Runtime dependencies (LanceDB, node-llama-cpp, parsers) are external to the Vite bundle, so
    // node_modules is packaged (devDependencies are pruned) alongside .vite.
    ignore: (file: string) => file !== '' && !KEEP.some((re) => re.test(file)),
    prune: true,
  },
  rebuildConfig: { onlyModules: [] },
  makers: [],
  plugins: [
    new VitePlugin({
      build: [
        { entry: 'electron/main/main.ts', config: 'vite.main.config.ts', target: 'main' },
        { entry: 'electron/preload/preload.ts', config: 'vite.preload.config.ts', target: 'preload' },
      ],
      renderer: [{ name: 'main_window', config: 'vite.renderer.config.ts' }],
    }),
    new FusesPlugin({
      version: FuseVersion.V1,
      [FuseV1Options.RunAsNode]: false,
      [FuseV1Options.EnableCookieEncryption]: true,
      [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
      [FuseV1Options.EnableNodeCliInspectArguments]: false,
      [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
      [FuseV1Options.OnlyLoadAppFromAsar]: true,
    }),
  ],
};

export default config;

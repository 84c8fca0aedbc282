/**
 * Architecture rules, checked by `npm run lint` (dependency-cruiser): no import cycles, the engine free of
 * Electron, the renderer free of Node and of the engine, the command line through the engine's doors, and
 * the test fixtures out of the product.
 * Folder-level cycles (ingest ↔ store, say) are checked by scripts/folder-cycles.mjs on the same graph.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules that import each other, directly or round a loop.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'engine-not-electron',
      severity: 'error',
      comment: 'The engine serves the CLI and browser mode too: it never imports Electron or the main process.',
      from: { path: '^electron/(engine|shared)/' },
      to: { path: ['^electron/(main|preload)/', '(^|/)node_modules/electron/'] },
    },
    {
      name: 'renderer-only-through-preload',
      severity: 'error',
      comment: 'The renderer reaches the engine through the preload bridge or the socket: no Node, Electron or engine imports.',
      from: { path: '^renderer/' },
      to: { path: ['^electron/(engine|main|preload)/', '(^|/)node_modules/electron/'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'renderer-no-node-builtins',
      severity: 'error',
      from: { path: '^renderer/src/', pathNot: '\\.test\\.ts$' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'cli-through-api-doors',
      severity: 'error',
      comment: 'One application layer: a command parses its flags, calls the engine\'s doors (api/, or the browser server), and prints. Types may come from anywhere; behaviour only from the doors and the core (errors, log, paths, workers).',
      from: { path: '^electron/engine/cli/', pathNot: '\\.test\\.ts$' },
      to: {
        path: '^electron/engine/',
        pathNot: ['^electron/engine/(api|cli|server)/', '^electron/engine/(errors|log|paths|worker-launcher)\\.ts$'],
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'test-fixtures-stay-in-tests',
      severity: 'error',
      comment: 'electron/engine/testing is for tests and benchmarks; the product does not ship it.',
      from: { path: '^electron/', pathNot: ['\\.test\\.ts$', '^electron/engine/testing/'] },
      to: { path: '^electron/engine/testing/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['^native/build/', '^dist/', '^\\.vite/', '^out/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};

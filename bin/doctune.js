#!/usr/bin/env node
// The CLI is compiled to dist/ by `npm install` (the prepare script) or `npm run build`.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/engine/cli/bin.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('doctune: not built yet; run `npm run build` in the DocTune folder\n');
  process.exit(1);
}
await import(entry.href);

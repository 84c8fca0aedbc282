#!/usr/bin/env node
// Security review of the Electron app with Doyensec's Electronegativity: fails on any HIGH-severity
// finding (and on files it could not parse, which would otherwise pass silently).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const mod = require('@doyensec/electronegativity/dist/runner.js');
const run = mod.default ?? mod;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// Scan what ships in the app's processes: main, preload, shared contract and the renderer's page.
const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'doctune-electronegativity-'));
for (const rel of ['package.json', 'electron/main', 'electron/preload', 'electron/shared', 'renderer/index.html', 'renderer/src']) {
  fs.cpSync(path.join(root, rel), path.join(stage, rel), { recursive: true, filter: (src) => !src.endsWith('.test.ts') });
}

const output = path.join(stage, 'report.csv');
const result = await run({ input: stage, output, isSarif: false, customScan: [], excludeFromScan: [], isRelative: true, isVerbose: false }, false);
const issues = result?.issues ?? [];
const errors = (result?.errors ?? []).filter((e) => !e.tolerable && !/\.svelte$/.test(e.file));
const rank = { INFORMATIONAL: 0, LOW: 1, MEDIUM: 2, HIGH: 3 };
const counts = { HIGH: 0, MEDIUM: 0, LOW: 0, INFORMATIONAL: 0 };
for (const issue of issues) {
  const sev = issue.severity?.name ?? 'INFORMATIONAL';
  counts[sev] = (counts[sev] ?? 0) + 1;
  if (rank[sev] >= rank.MEDIUM) {
    console.log(`${sev.padEnd(6)} ${issue.id}  ${issue.file}:${issue.location?.line ?? '?'}  ${issue.description ?? ''}`);
  }
}
for (const e of errors) console.log(`PARSE  ${e.file}: ${e.message}`);
console.log(`electronegativity: ${counts.HIGH} high, ${counts.MEDIUM} medium, ${counts.LOW} low, ${counts.INFORMATIONAL} informational; ${errors.length} unparsed files`);
try {
  fs.rmSync(stage, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
} catch {
  // A temporary copy; leaving it behind is harmless.
}
process.exit(counts.HIGH > 0 || errors.length > 0 ? 1 : 0);

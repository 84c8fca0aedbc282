#!/usr/bin/env node
// Installers for this system: Electron Forge packages the app (with this system's native trainer), then
// electron-builder turns out/DocTune-<platform>-<arch> into installers (electron-builder.config.cjs).
// A script rather than a shell line, so that it runs the same in cmd.exe, PowerShell and sh.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const prebuild = path.join(root, 'native', 'prebuilds', `${process.platform}-${process.arch}`, 'doctune_native.node');
if (!fs.existsSync(prebuild)) {
  console.error(`doctune: no native trainer for ${process.platform}-${process.arch} (${prebuild}): run npm run build:native first`);
  process.exit(1);
}
const bin = (name) => path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? `${name}.cmd` : name);
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run(bin('electron-forge'), ['package']);
run(bin('electron-builder'), ['--config', 'electron-builder.config.cjs', '--prepackaged', path.join('out', `DocTune-${process.platform}-${process.arch}`)]);

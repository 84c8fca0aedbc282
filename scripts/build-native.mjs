#!/usr/bin/env node
// Builds DocTune's native trainer (native/) against the ggml that node-llama-cpp ships: headers from its
// bundled llama.cpp source (a git bundle), libggml-base from its prebuilt binaries for this platform.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
const buildDir = path.join(root, 'native', 'build');

// With --optional (npm install), missing tools are reported but do not fail the install: everything but
// training works without the addon, and training says how to build it.
const optional = process.argv.includes('--optional');

function die(message, buildFailed = false) {
  console.error(`\ndoctune: cannot build the native trainer: ${message}\n` +
    'Document import and search work without it; training needs it. Install the missing tool and run `npm run build:native`.\n');
  process.exit(optional && !buildFailed ? 0 : 1);
}

function have(cmd, args = ['--version']) {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

if (!have('cmake')) die('CMake is not installed (Debian/Ubuntu: apt-get install cmake; macOS: brew install cmake; Windows: Visual Studio with C++ and CMake)');
if (process.platform !== 'win32' && !have(process.env.CXX ?? 'c++')) die('no C++ compiler found (Debian/Ubuntu: apt-get install g++; macOS: xcode-select --install)');
if (!have('git')) die('git is needed to read the llama.cpp source that node-llama-cpp bundles');

/** A package's folder, found the way Node looks for it (some packages do not export package.json). */
function packageDir(name) {
  for (const dir of require.resolve.paths(name) ?? []) {
    if (fs.existsSync(path.join(dir, name, 'package.json'))) return path.join(dir, name);
  }
  return null;
}

const nlcDir = packageDir('node-llama-cpp');
if (!nlcDir) die('node-llama-cpp is not installed (run npm install)');
const bundle = path.join(nlcDir, 'llama', 'gitRelease.bundle');
if (!fs.existsSync(bundle)) die(`node-llama-cpp's llama.cpp bundle is missing (${bundle})`);
const source = path.join(buildDir, 'llama.cpp');
const stamp = path.join(source, '.doctune-bundle-size');
const bundleId = String(fs.statSync(bundle).size);
if (!fs.existsSync(stamp) || fs.readFileSync(stamp, 'utf8') !== bundleId) {
  fs.rmSync(source, { recursive: true, force: true });
  fs.mkdirSync(buildDir, { recursive: true });
  execFileSync('git', ['clone', '--quiet', bundle, source], { stdio: 'inherit' });
  fs.writeFileSync(stamp, bundleId);
}

const variant = `${process.platform}-${process.arch}`;
const prebuilt = packageDir(`@node-llama-cpp/${variant}`);
if (!prebuilt) die(`node-llama-cpp has no prebuilt binaries for ${variant}`);
const binsDir = path.join(prebuilt, 'bins', variant);
if (!fs.readdirSync(binsDir).some((f) => /ggml-base/.test(f))) die(`no libggml-base in ${binsDir}`);

const cmakeJs = path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'cmake-js.cmd' : 'cmake-js');
const args = ['compile', '-d', path.join(root, 'native'), '-O', path.join(buildDir, 'cmake'),
  `--CDGGML_INCLUDE_DIR=${path.join(source, 'ggml', 'include')}`, `--CDGGML_LIB_DIR=${binsDir}`,
  `--CDNODE_ADDON_API_DIR=${packageDir('node-addon-api') ?? die('node-addon-api is not installed')}`];
// Node-API is ABI-stable, so the running Node's own headers serve (Electron too); this avoids a download.
const env = { ...process.env };
const prefix = path.resolve(path.dirname(process.execPath), '..');
if (!env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) env.npm_config_nodedir = prefix;
const r = spawnSync(cmakeJs, args, { stdio: ['ignore', 'inherit', 'inherit'], cwd: root, env, shell: process.platform === 'win32' });
if (r.status !== 0) die('the C++ build failed (see the compiler output above)', true);
const built = path.join(buildDir, 'cmake', 'Release', 'doctune_native.node');
if (!fs.existsSync(built)) die('the build produced no addon', true);
// The copy the app ships and loads: one folder per platform and architecture (Node-API is ABI-stable, so
// the same file serves Node and Electron); CI builds each on its own system.
const prebuild = path.join(root, 'native', 'prebuilds', variant, 'doctune_native.node');
fs.mkdirSync(path.dirname(prebuild), { recursive: true });
fs.copyFileSync(built, prebuild);
console.log(`built ${path.relative(root, prebuild)} against ggml from node-llama-cpp (${variant})`);

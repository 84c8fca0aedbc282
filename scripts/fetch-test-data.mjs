#!/usr/bin/env node
/**
 * Fetches the shared test data (real documents and the tiny model) into ../shared, or the folder given, for
 * CI machines that do not have it: each file from the commit its provenance names, checked by SHA-256.
 * Files already there with the right hash are left alone.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dest = path.resolve(process.argv[2] ?? path.join(root, '..', 'shared'));
const { files } = JSON.parse(fs.readFileSync(path.join(root, 'scripts', 'test-data.json'), 'utf8'));

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

let fetched = 0;
for (const f of files) {
  const file = path.join(dest, f.path);
  if (fs.existsSync(file) && sha256(fs.readFileSync(file)) === f.sha256) continue;
  const res = await fetch(f.url);
  if (!res.ok) throw new Error(`${f.url}: HTTP ${res.status}`);
  const body = Buffer.from(await res.arrayBuffer());
  if (sha256(body) !== f.sha256) throw new Error(`${f.url}: SHA-256 ${sha256(body)}, expected ${f.sha256}`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.part`, body);
  fs.renameSync(`${file}.part`, file);
  fetched++;
}
console.log(`test data in ${dest}: ${files.length} files, ${fetched} fetched`);

/**
 * One large plain-text file into a fresh workspace, in a process of its own so that its peak memory is the
 * import's alone (run by ingest.bench.ts; prints one JSON line). Usage: tsx bench/ingest-big-text.ts FILE
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ingestPaths } from '../electron/engine/ingest/ingest-files.js';
import { DocumentParser } from '../electron/engine/ingest/parse-pool.js';
import { Workspace } from '../electron/engine/store/workspace.js';

const file = process.argv[2]!;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'doctune-bench-big-ws-'));
const ws = await Workspace.open(dir);
// As the app runs it: the default parsing threads and heap cap, and per-file time limit.
const parser = new DocumentParser();
let storedAt = 0;
const t0 = performance.now();
const summary = await ingestPaths(ws, [file], { parser, onProgress: (p) => { if (p.stage === 'done') storedAt = performance.now(); } });
const total = performance.now() - t0;
const chunks = await ws.chunkTable().countRows();
await parser.close();
ws.close();
fs.rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({
  bytes: fs.statSync(file).size,
  documents: summary.documents,
  errors: summary.errors,
  chunks,
  storedSeconds: Math.round((storedAt - t0) / 100) / 10,
  seconds: Math.round(total / 100) / 10,
  // maxRSS covers the whole process: the parsing thread, LanceDB and the index build included.
  peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
}));

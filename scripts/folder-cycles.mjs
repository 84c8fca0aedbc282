/**
 * Folder-level import cycles in the engine: `ingest → store → ingest` is a cycle even when no two modules
 * import each other. Each folder is a pipeline stage; a cycle means two stages cannot be understood (or
 * changed) apart. The graph comes from dependency-cruiser; tests and test fixtures are left out.
 */
import { fileURLToPath } from 'node:url';
import { cruise } from 'dependency-cruiser';

/** The folder a module belongs to: electron/engine/<stage>/…, the engine's own top-level files ("core"), or electron/<part>/…. */
export function folderOf(modulePath) {
  const m = /^electron\/engine\/(?:([^/]+)\/)?[^/]+$|^electron\/engine\/([^/]+)\//.exec(modulePath);
  if (m) return m[2] ?? m[1] ?? 'core';
  const e = /^electron\/([^/]+)\//.exec(modulePath);
  return e ? e[1] : null;
}

/** Strongly connected components with more than one folder (Tarjan), each with one example import per edge. */
export function folderCycles(edges) {
  const graph = new Map();
  for (const { from, to } of edges) {
    if (!graph.has(from)) graph.set(from, new Set());
    if (!graph.has(to)) graph.set(to, new Set());
    graph.get(from).add(to);
  }
  let index = 0;
  const stack = [];
  const info = new Map();
  const out = [];
  const visit = (v) => {
    info.set(v, { index, low: index, on: true });
    index++;
    stack.push(v);
    for (const w of graph.get(v)) {
      if (!info.has(w)) {
        visit(w);
        info.get(v).low = Math.min(info.get(v).low, info.get(w).low);
      } else if (info.get(w).on) {
        info.get(v).low = Math.min(info.get(v).low, info.get(w).index);
      }
    }
    if (info.get(v).low === info.get(v).index) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        info.get(w).on = false;
        component.push(w);
      } while (w !== v);
      if (component.length > 1) out.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!info.has(v)) visit(v);
  return out;
}

async function main() {
  const result = await cruise(['electron'], {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['\\.test\\.ts$', '^electron/engine/testing/'] },
    tsPreCompilationDeps: true,
  }, undefined, { tsConfig: { fileName: 'tsconfig.json' } });
  const edges = [];
  const example = new Map();
  for (const m of result.output.modules) {
    const from = folderOf(m.source);
    if (!from) continue;
    for (const d of m.dependencies) {
      const to = folderOf(d.resolved);
      if (!to || to === from) continue;
      edges.push({ from, to });
      if (!example.has(`${from}→${to}`)) example.set(`${from}→${to}`, `${m.source} → ${d.resolved}`);
    }
  }
  const cycles = folderCycles(edges);
  for (const c of cycles) {
    process.stderr.write(`folder cycle: ${c.join(', ')}\n`);
    for (const [k, v] of example) {
      const [a, b] = k.split('→');
      if (c.includes(a) && c.includes(b)) process.stderr.write(`  ${v}\n`);
    }
  }
  if (cycles.length) process.exit(1);
  process.stdout.write(`no folder cycles (${new Set(edges.map((e) => e.from)).size} folders)\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();

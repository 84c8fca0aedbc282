import type { DocumentSummary, IngestSummary, SearchHit, SyncSummary } from '../../shared/contract.js';
import type { FitSummary } from '../train/sequence-length.js';

export function formatIngestSummary(s: IngestSummary): string {
  const lines = [`Imported ${s.documents} document(s), ${s.chunks} chunk(s); ${s.unchanged} unchanged.`];
  if (s.skipped.length) lines.push(`Skipped ${s.skipped.length}:`, ...s.skipped.map((x) => `  ${x.path}: ${x.reason}`));
  if (s.errors.length) lines.push(`Failed ${s.errors.length}:`, ...s.errors.map((x) => `  ${x.path}: ${x.reason}`));
  return lines.join('\n');
}

/** One watched folder's sync, as `doctune ingest --watch` prints it. */
export function formatSyncSummary(folder: string, s: SyncSummary, at = new Date()): string {
  const parts = [`${s.documents} imported`, `${s.unchanged} unchanged`];
  if (s.renamed.length) parts.push(`${s.renamed.length} moved or renamed`);
  if (s.restored.length) parts.push(`${s.restored.length} back`);
  if (s.removed.length) parts.push(`${s.removed.length} removed`);
  if (s.errors.length) parts.push(`${s.errors.length} failed`);
  const lines = [`[${at.toLocaleTimeString('en-GB')}] ${folder}: ${parts.join(', ')}`];
  for (const r of s.renamed) lines.push(`  moved: ${r.from} -> ${r.to}`);
  for (const p of s.restored) lines.push(`  back: ${p}`);
  for (const p of s.removed) lines.push(`  removed (kept for its QA pairs): ${p}`);
  for (const e of s.errors) lines.push(`  ${e.path}: ${e.reason}`);
  return lines.join('\n');
}

export function formatDocuments(docs: DocumentSummary[]): string {
  if (!docs.length) return 'No documents in this workspace yet. Add some with: doctune ingest <files or folders>';
  const rows = docs.map((d) => [d.status === 'ready' ? 'ok' : d.status === 'removed' ? 'removed' : 'ERROR', d.format, d.language, d.pages === null ? '-' : String(d.pages), String(d.chunks), d.title]);
  const header = ['status', 'format', 'lang', 'pages', 'chunks', 'title'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  const out = [fmt(header), ...rows.map(fmt)];
  for (const d of docs) if (d.error) out.push(`  ${d.path}: ${d.error}`);
  return out.join('\n');
}

export function formatHits(hits: SearchHit[]): string {
  if (!hits.length) return 'No matches.';
  return hits
    .map((h, i) => {
      const where = [h.page === null ? null : `p. ${h.page}`, h.heading.length ? h.heading.join(' › ') : null].filter(Boolean).join(' — ');
      const excerpt = h.text.length > 300 ? `${h.text.slice(0, 300)}…` : h.text;
      return `${i + 1}. ${h.title}${where ? ` — ${where}` : ''}  (score ${h.score})\n   ${h.path}\n   ${excerpt.replace(/\n/g, '\n   ')}`;
    })
    .join('\n\n');
}

/** What fitting the training data to the sequence length did, in one line. */
export function formatFit(examples: number, f: FitSummary): string {
  const what = [
    f.split ? `${f.split} long answer(s) split at sentences into ${f.parts} parts` : null,
    f.dropped ? `${f.dropped} dropped (the question alone fills a sequence)` : null,
  ].filter(Boolean);
  return `prepared ${examples} training sequences of at most ${f.seq} tokens from ${f.conversations} conversations${what.length ? `: ${what.join(', ')}` : ''}`;
}

/** A document's passages, each with its page and heading path. */
export function formatPassages(doc: { title: string; path: string; error: string | null }, passages: { ordinal: number; page: number | null; heading: string[]; text: string; ocr?: boolean }[]): string {
  const head = `${doc.title}\n${doc.path}\n${passages.length} passage(s)`;
  if (!passages.length) return `${head}${doc.error ? `: the file did not import: ${doc.error}` : ''}`;
  return [head, ...passages.map((p, i) => {
    const where = [p.page === null ? null : `p. ${p.page}`, p.heading.length ? p.heading.join(' › ') : null, p.ocr ? 'OCR' : null].filter(Boolean).join(' — ');
    return `[${i + 1}] ${where}\n    ${p.text.replace(/\n/g, '\n    ')}`;
  })].join('\n\n');
}

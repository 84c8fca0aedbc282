import type { ChunkRow } from '../store/schema.js';
import { locateEvidence } from './evidence.js';

/**
 * A document's passages regrouped into its sections: consecutive passages under one heading path, joined
 * without the sentences the chunker repeats between neighbours. The extractive teacher answers from whole
 * sections (a section's question deserves the section, not the part one passage holds), and each pair is
 * filed under the passage where its evidence starts.
 */
export interface SectionPart {
  id: string;
  text: string;
}

export interface Section {
  documentId: string;
  heading: string[];
  language: string;
  parts: SectionPart[];
  text: string;
}

export function groupSections(chunks: readonly Pick<ChunkRow, 'id' | 'document_id' | 'ordinal' | 'heading' | 'language' | 'text'>[]): Section[] {
  const sorted = [...chunks].sort((a, b) => a.document_id.localeCompare(b.document_id) || a.ordinal - b.ordinal);
  const sections: Section[] = [];
  let lastOrdinal = -2;
  for (const c of sorted) {
    const last = sections.at(-1);
    const same = last && last.documentId === c.document_id && c.ordinal === lastOrdinal + 1 && last.language === c.language &&
      last.heading.join('\u0001') === c.heading.join('\u0001');
    if (same) {
      last.parts.push({ id: c.id, text: c.text });
      last.text = joinOverlapping(last.text, c.text);
    } else {
      sections.push({ documentId: c.document_id, heading: [...c.heading], language: c.language, parts: [{ id: c.id, text: c.text }], text: c.text });
    }
    lastOrdinal = c.ordinal;
  }
  return sections;
}

/** `a` then `b`, where `b` may open with the whole sentences `a` ended with (the chunker's overlap). */
export function joinOverlapping(a: string, b: string): string {
  const head = b.slice(0, Math.min(24, b.length));
  if (head.length >= 8) {
    for (let i = a.indexOf(head); i >= 0; i = a.indexOf(head, i + 1)) {
      const tail = a.slice(i);
      if (b.startsWith(tail)) return a + b.slice(tail.length);
    }
  }
  return `${a} ${b}`;
}

/**
 * The passage a piece of evidence belongs to, and the part of it that stands there: the whole evidence when
 * one passage holds it, else the longest opening of it that the passage where it starts holds (at least a
 * few words, or nothing).
 */
export function placeEvidence(evidence: string, parts: readonly SectionPart[]): { id: string; evidence: string } | null {
  const whole = parts.find((p) => locateEvidence(p.text, evidence) !== null);
  if (whole) return { id: whole.id, evidence };
  let best: { id: string; length: number } | null = null;
  for (const p of parts) {
    // The opening of the evidence that the passage holds grows with its length until it stops: binary search.
    let lo = 0;
    let hi = evidence.length;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (locateEvidence(p.text, evidence.slice(0, mid)) !== null) lo = mid;
      else hi = mid - 1;
    }
    if (!best || lo > best.length) best = { id: p.id, length: lo };
  }
  if (!best || best.length < 24) return null;
  // End on a word boundary.
  const cut = evidence.slice(0, best.length);
  const end = /\s/u.test(evidence[best.length] ?? ' ') ? cut : cut.replace(/\s+\S*$/u, '');
  return end.trim().length >= 12 ? { id: best.id, evidence: end.trim() } : null;
}

/**
 * Where a teacher's evidence stands in its passage, ignoring spacing and case (PDF text breaks lines where
 * the model's quote does not): the grounding check that keeps or drops a generated pair, and the highlight
 * the review screen shows, from one rule.
 */

/** [start, end) of `evidence` in `text`, or null when the passage does not contain it. */
export function locateEvidence(text: string, evidence: string | null): [number, number] | null {
  if (!evidence) return null;
  const positions: number[] = [];
  let flat = '';
  for (let i = 0; i < text.length; i++) {
    if (/\s/.test(text[i]!)) continue;
    positions.push(i);
    flat += text[i]!.toLowerCase();
  }
  const needle = evidence.replace(/\s+/g, '').toLowerCase();
  const at = needle ? flat.indexOf(needle) : -1;
  return at < 0 ? null : [positions[at]!, positions[at + needle.length - 1]! + 1];
}

/** Evidence that is the passage's own words, and long enough (six characters) to mean something. */
export function isGrounded(evidence: string, passage: string): boolean {
  return evidence.replace(/\s+/g, '').length >= 6 && locateEvidence(passage, evidence) !== null;
}

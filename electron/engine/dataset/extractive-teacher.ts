import { splitSentences } from '../ingest/text-units.js';

/**
 * The teacher with no model: questions and answers taken from a passage's own structure, in its language.
 * Every answer is a verbatim span of the passage (its evidence), so every pair is grounded by construction.
 */
export interface PassageInput {
  text: string;
  heading: string[];
  language: string;
  /** The document's title, to name the source in questions ("…治安管理处罚法第一条…"). */
  title: string;
}

export interface ExtractedPair {
  question: string;
  answer: string;
  /** Verbatim span of the passage the answer rests on. */
  evidence: string;
  kind: 'article' | 'definition' | 'heading' | 'list' | 'table-row' | 'requirement';
}

const ZH_ARTICLE = /(第[一二三四五六七八九十百千零〇]+条)\s*([^第]+?[。；])(?=\s*第[一二三四五六七八九十百千零〇]+条|\s*$)/gu;
const EN_DEFINITION = /(?:^|(?<=[.!?]\s))((?:An?|The)?\s*[A-Za-z][\w\s/()-]{2,60}?)\s+(?:means|is defined as|refers to)\s+[^.]{8,300}\./g;
const ZH_DEFINITION = /([^，。；：\s]{2,24})是指[^。]{4,200}。/gu;
const REQUIREMENT_EN = /\b(must|shall|required to|at least|no later than|within \d+)\b/i;
const REQUIREMENT_ZH = /(应当|必须|不得|以上|以下|以内|日内)/u;

function firstSentences(text: string, language: string, max: number): string {
  const sentences = splitSentences(text, language).map((s) => s.trim()).filter(Boolean);
  let out = '';
  for (const s of sentences) {
    if (out && out.length + s.length > max) break;
    out = out ? `${out}${language === 'zh' ? '' : ' '}${s}` : s;
  }
  return out;
}

/** The passage's text as it stands, so the evidence is a real substring. */
function span(text: string, start: string, max = 400): string | null {
  const i = text.indexOf(start);
  return i < 0 ? null : text.slice(i, i + Math.min(max, start.length));
}

export function extractPairs(p: PassageInput, maxPairs = 4): ExtractedPair[] {
  const zh = p.language === 'zh';
  const pairs: ExtractedPair[] = [];
  const add = (pair: ExtractedPair | null): void => {
    if (pair && pair.answer.length >= 6 && p.text.includes(pair.evidence) && pairs.length < maxPairs) pairs.push(pair);
  };
  const section = p.heading.at(-1) ?? '';
  const law = p.title.replace(/^中华人民共和国/u, '');

  // Statutes: every article is a question of its own.
  if (zh) {
    for (const m of p.text.matchAll(ZH_ARTICLE)) {
      const body = m[2]!.trim();
      add({ question: `《${law}》${m[1]}是怎样规定的？`, answer: body, evidence: body, kind: 'article' });
    }
  }
  // Definitions.
  for (const m of p.text.matchAll(zh ? ZH_DEFINITION : EN_DEFINITION)) {
    const term = m[1]!.trim().replace(/^(An?|The)\s+/, '');
    const sentence = m[0].trim();
    add({ question: zh ? `什么是${term}？` : `What does "${term}" mean?`, answer: sentence, evidence: sentence, kind: 'definition' });
  }
  // A section that asks a question, or names a topic: its first statements answer it.
  if (section && !/^第[一二三四五六七八九十]+[章节]/u.test(section)) {
    const lead = firstSentences(p.text.replace(/^[•\s]+/, ''), p.language, 320);
    const evidence = lead ? span(p.text, lead, lead.length) : null;
    if (evidence) {
      const question = /[?？]$/.test(section) ? section : zh ? `关于“${section}”，有哪些规定？` : `What does the guidance on "${section}" say?`;
      add({ question, answer: evidence, evidence, kind: 'heading' });
    }
  }
  // Lists: the items under a heading.
  const items = p.text.split(/\s*•\s+/).slice(1).map((s) => s.trim()).filter((s) => s.length > 3);
  if (items.length >= 2 && section) {
    const first = p.text.indexOf('•');
    const evidence = p.text.slice(first).trim();
    add({ question: zh ? `“${section}”包括哪些内容？` : `Which points are listed under "${section}"?`, answer: items.join('; '), evidence, kind: 'list' });
  }
  // Table rows: "label | value | …".
  for (const row of p.text.split('\n').filter((l) => l.includes(' | ')).slice(1, 3)) {
    const [label, ...rest] = row.split(' | ').map((c) => c.trim());
    if (label && rest.some((c) => c.length > 0)) {
      add({ question: zh ? `表中“${label}”一项是什么？` : `In the table${section ? ` on "${section}"` : ''}, what is given for "${label}"?`, answer: row.trim(), evidence: row, kind: 'table-row' });
    }
  }
  // Requirements with numbers or obligations (statute articles already cover theirs).
  const hasArticles = pairs.some((x) => x.kind === 'article');
  for (const s of hasArticles ? [] : splitSentences(p.text, p.language).map((x) => x.trim())) {
    if (pairs.length >= maxPairs) break;
    if (s.length < 30 || s.length > 400 || !(zh ? REQUIREMENT_ZH : REQUIREMENT_EN).test(s) || !/\d|[一二三四五六七八九十]/u.test(s)) continue;
    // Name the requirement by its opening words, so two requirements of one section ask different questions.
    const opening = zh ? s.slice(0, 12) : s.split(/\s+/).slice(0, 8).join(' ');
    add({ question: zh ? `“${opening}……”这一要求的具体内容是什么？` : `What exactly is required where the text says "${opening}…"?`, answer: s, evidence: s, kind: 'requirement' });
  }
  return pairs;
}

import { splitSentences } from '../text/text-units.js';
import { fallbackQuestion, headingQuestion, sentenceQuestions, titleTopic, type PhrasedPair } from './english-questions.js';

/**
 * The teacher with no model: questions and answers taken from a section's own structure, in its language.
 * A question heading is answered by its whole section; headings that name something, and the sentences that
 * define, assign, require or instruct, are turned into the questions a reader would ask; each article of a
 * statute is a question of its own. Every answer is verbatim text of the section (its evidence), so every
 * pair is grounded by construction. Contact lists (addresses, phone numbers) give no questions.
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
  kind: 'article' | PhrasedPair['kind'];
}

const ZH_NUMERAL = '[一二三四五六七八九十百千零〇]+';
const ZH_ARTICLE_START = new RegExp(`(?:^|(?<=[\\s\\u3000。；]))(第${ZH_NUMERAL}条)[\\s\\u3000]+`, 'gu');
const ZH_DEFINITION = /([^，。；：\s]{2,24})是指[^。]{4,200}。/gu;
/** The longest answer a whole section gives, in words (Chinese: characters / 2). */
const SECTION_WORDS = 450;

/** A passage that is mostly addresses and phone numbers: a directory, not knowledge to learn. */
export function isContactList(text: string): boolean {
  const words = text.split(/\s+/u).length;
  const phones = (text.match(/\(\d{3}\)\s*\d{3}\s*[-–]\s*\d{4}|\b\d{3}[-–]\d{3}[-–]\d{4}\b/gu) ?? []).length;
  const zips = (text.match(/,\s*[A-Z]{2}\s+\d{5}\b/gu) ?? []).length;
  return (phones >= 3 && phones * 25 > words) || (phones >= 2 && phones * 12 > words) || zips >= 2;
}

/** A section's text as an answer: whole up to SECTION_WORDS, else its first sentences up to that. */
function sectionAnswer(text: string, language: string): string {
  const words = text.split(/\s+/u).length;
  if (words <= SECTION_WORDS && (language !== 'zh' || text.length <= SECTION_WORDS * 2)) return text;
  let out = '';
  for (const s of splitSentences(text, language)) {
    const next = out + s;
    if (out && (next.split(/\s+/u).length > SECTION_WORDS || (language === 'zh' && next.length > SECTION_WORDS * 2))) break;
    out = next;
  }
  return out.trim();
}

/** Bullets written as lines, for reading and for training: "…: • A; • B" → "…:\n• A;\n• B". */
function formatList(text: string): string {
  return text.replace(/\s+•\s+/gu, '\n• ').replace(/^•\s+/u, '• ');
}

/** A sentence that introduces a list ("… include the following:") keeps the list's items with it. */
function withTheirLists(segments: readonly string[]): string[] {
  const out: string[] = [];
  for (const seg of segments) {
    const last = out.at(-1);
    if (last !== undefined && /^\s*•/u.test(seg) && /:\s*(?:•.*)?$/su.test(last)) out[out.length - 1] = last + seg;
    else out.push(seg);
  }
  return out;
}

function statuteArticles(p: PassageInput): ExtractedPair[] {
  const law = p.title.replace(/^中华人民共和国/u, '');
  const starts = [...p.text.matchAll(ZH_ARTICLE_START)];
  return starts.flatMap((m, i) => {
    const body = p.text.slice(m.index! + m[0].length, starts[i + 1]?.index ?? p.text.length).trim();
    if (body.length < 4) return [];
    const pairs: ExtractedPair[] = [{ question: `《${law}》${m[1]}是怎样规定的？`, answer: body, evidence: body, kind: 'article' }];
    if (/^为了?.{4,120}制定本法。/u.test(body)) pairs.push({ question: `制定《${law}》的目的是什么？`, answer: body, evidence: body, kind: 'purpose' });
    return pairs;
  });
}

export function extractPairs(p: PassageInput, maxPairs = 4): ExtractedPair[] {
  const zh = p.language === 'zh';
  const pairs: ExtractedPair[] = [];
  const seen = new Set<string>();
  const add = (pair: ExtractedPair): void => {
    if (pair.answer.length >= 6 && p.text.includes(pair.evidence) && !seen.has(pair.question)) {
      seen.add(pair.question);
      pairs.push(pair);
    }
  };
  if (isContactList(p.text) || p.text.split(/\s+/u).length < 6 && !zh) return [];
  const section = p.heading.at(-1) ?? '';
  // A table of contents is navigation.
  if (/^(?:table of )?contents$|^目\s*录$/iu.test(section)) return [];

  if (zh) {
    // Every article of a statute is a question of its own: no limit.
    const articles = statuteArticles(p);
    for (const a of articles) add(a);
    for (const m of p.text.matchAll(ZH_DEFINITION)) {
      if (pairs.length >= Math.max(maxPairs, articles.length + 2)) break;
      const sentence = m[0].trim();
      add({ question: `什么是${m[1]!.trim()}？`, answer: sentence, evidence: sentence, kind: 'definition' });
    }
    // A section headed by a question (outside statutes) is answered by the section.
    if (!articles.length && /[?？]$/u.test(section)) {
      const answer = sectionAnswer(p.text, p.language);
      add({ question: section, answer, evidence: answer, kind: 'section' });
    }
    return pairs;
  }

  const ctx = { heading: section, parents: p.heading.slice(0, -1), title: p.title, text: p.text };
  const asked = section ? headingQuestion(ctx) : null;
  if (asked) {
    const answer = sectionAnswer(p.text, p.language);
    add({ question: asked, answer: formatList(answer), evidence: answer, kind: 'section' });
  }
  // The sentences' own questions, placed where leaflets need it ("during a tornado").
  const topic = titleTopic(p.title);
  const when = /\b(during|after|before)$/iu.exec(section)?.[1]?.toLowerCase();
  const near = topic && when ? `${when} ${topic}` : null;
  const sentences = withTheirLists(splitSentences(p.text, p.language)).map((x) => x.trim()).filter(Boolean);
  for (const q of sentenceQuestions(sentences, ctx, near)) {
    if (pairs.length >= maxPairs) break;
    add({ question: q.question, answer: formatList(q.evidence), evidence: q.evidence, kind: q.kind });
  }
  // A section no rule asked about still teaches its content, under a plainer question.
  const fallback = !pairs.length && section && p.text.split(/\s+/u).length >= 12 ? fallbackQuestion(ctx, sentences) : null;
  if (fallback) {
    const answer = sectionAnswer(p.text, p.language);
    add({ question: fallback, answer: formatList(answer), evidence: answer, kind: 'section' });
  }
  return pairs;
}

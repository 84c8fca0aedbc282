import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestPaths } from '../ingest/ingest-files.js';
import { DocumentParser } from '../ingest/parse-pool.js';
import { listQaPairs } from '../store/qa-store.js';
import { Workspace } from '../store/workspace.js';
import { CORPUS, tempDir } from '../testing/corpus.js';
import { extractPairs, isContactList } from './extractive-teacher.js';
import { generatePairs } from './generate.js';
import { NearDuplicateFilter } from './rouge.js';

describe('extractive teacher', () => {
  it('asks about each article of a statute, in Chinese, with the article as evidence, even where the article cites another', () => {
    const text = '第一条 为维护社会治安秩序，保障公共安全，制定本法。 第二条 违反本法第一条的，依照第十条处罚。 第三条 扰乱公共秩序，尚不够刑事处罚的，给予治安管理处罚。';
    const pairs = extractPairs({ text, heading: ['中华人民共和国治安管理处罚法', '第一章 总则'], language: 'zh', title: '中华人民共和国治安管理处罚法' }, 1);
    expect(pairs.filter((p) => p.kind === 'article').map((p) => [p.question, p.answer])).toEqual([
      ['《治安管理处罚法》第一条是怎样规定的？', '为维护社会治安秩序，保障公共安全，制定本法。'],
      ['《治安管理处罚法》第二条是怎样规定的？', '违反本法第一条的，依照第十条处罚。'],
      ['《治安管理处罚法》第三条是怎样规定的？', '扰乱公共秩序，尚不够刑事处罚的，给予治安管理处罚。'],
    ]);
    expect(pairs.find((p) => p.kind === 'purpose')?.question).toBe('制定《治安管理处罚法》的目的是什么？');
  });

  it('keeps two articles whose wording is alike: different numbers are different questions', () => {
    const f = new NearDuplicateFilter(0.7);
    expect(f.admit('《治安管理处罚法》第六十六条是怎样规定的？', '卖淫、嫖娼的，处十日以上十五日以下拘留，可以并处五千元以下罚款。')).toBe(true);
    expect(f.admit('《治安管理处罚法》第六十七条是怎样规定的？', '引诱、容留、介绍他人卖淫的，处十日以上十五日以下拘留，可以并处五千元以下罚款。')).toBe(true);
    expect(f.admit('《治安管理处罚法》第六十七条是怎么规定的？', '引诱、容留、介绍他人卖淫的，处十日以上十五日以下拘留，可以并处五千元以下罚款。')).toBe(false);
  });

  it('answers a question heading with its whole section, lists written as lines', () => {
    const text = 'Before beginning service or maintenance, the following steps must be accomplished in sequence: • Prepare for shutdown; • Shut down the machine; • Apply the lockout device. Then verify isolation. Finally, test the controls.';
    const pairs = extractPairs({ text, heading: ['What must workers do before they begin service or maintenance activities?'], language: 'en', title: 'Control of Hazardous Energy' });
    expect(pairs[0]).toMatchObject({ question: 'What must workers do before they begin service or maintenance activities?', evidence: text, kind: 'section' });
    expect(pairs[0]!.answer).toContain('sequence:\n• Prepare for shutdown;\n• Shut down the machine;');
    expect(pairs[0]!.answer).toContain('Finally, test the controls.');
    expect(pairs.map((p) => p.question)).toContain('What must be done before beginning service or maintenance?');
  });

  it('phrases questions from the content, not from a template around the heading', () => {
    const leaflet = extractPairs({
      text: 'Immediately go to a safe location that you identified. If you are in a car or outdoors and cannot get to a building, cover your head and neck with your arms.',
      heading: ['HOW TO STAY SAFE', 'Survive DURING'], language: 'en', title: 'Be Prepared for a Tornado',
    });
    expect(leaflet.map((p) => p.question)).toEqual([
      'What should you do to survive during a tornado?',
      'During a tornado, what should you do if you are in a car or outdoors and cannot get to a building?',
    ]);
    const roles = extractPairs({
      text: 'The Planning Section collects, evaluates and displays incident information. The Logistics Section is responsible for ensuring that there are adequate resources. A tagout device is a prominent warning that the machine must not be operated.',
      heading: ['Planning Section'], language: 'en', title: 'ICS for Schools',
    });
    expect(roles.map((p) => p.question)).toEqual(['What does the Planning Section do?', 'What is the Logistics Section responsible for?', 'What is a tagout device?']);
  });

  it('asks when an instruction applies, and gives a section no rule asks about a plainer question rather than nothing', () => {
    const pairs = extractPairs({
      text: 'Maintain three points of contact when climbing a ladder. Never stand on the top step of a stepladder. Inspect the ladder for damage before each use.',
      heading: ['Ladder safety'], language: 'en', title: 'Ladders',
    });
    expect(pairs.map((p) => p.question)).toEqual(['When should you maintain three points of contact?', 'When should you inspect the ladder for damage?']);
    const plain = extractPairs({ text: 'Set an extension ladder at a 4 to 1 angle. Extend it three feet above the landing. Tie it off at the top.', heading: ['Ladder safety', 'Placement'], language: 'en', title: 'Ladders' });
    expect(plain.map((p) => [p.question, p.kind])).toEqual([['What should you do for placement (ladder safety)?', 'section']]);
  });

  it('gives no questions on contact lists, tables of contents, or headings that name nothing', () => {
    const offices = 'Anchorage, AK (907) 271–5152 Birmingham, AL (205) 731–1534 Mobile, AL (334) 441–6131 Little Rock, AR (501) 324–6291';
    expect(isContactList(offices)).toBe(true);
    expect(extractPairs({ text: offices, heading: ['OSHA Area Offices'], language: 'en', title: 'Job Hazard Analysis' })).toEqual([]);
    expect(extractPairs({ text: 'Alaska Department of Labor Commissioner (907) 465–2700 FAX: (907) 465–2784 Director (907) 269–4904', heading: ['Alaska'], language: 'en', title: 'Job Hazard Analysis' })).toEqual([]);
    expect(extractPairs({ text: 'When does the standard not apply to What must workers do before they', heading: ['Contents'], language: 'en', title: 'x' })).toEqual([]);
    expect(isContactList('To report an emergency call (800) 321-6742 or contact your nearest office; the TTY number is (877) 889-5627. You can also file a complaint online.')).toBe(false);
  });
});

/** The generic wrappers the extractive teacher used to put around a heading or phrase. */
const TEMPLATED = /^(?:What does the guidance on|Which points are listed under|In the table|What exactly is required where)|^关于“.*”，有哪些规定？$|^“.*”包括哪些内容？$|^表中“/u;

describe('the extractive teacher on the corpus', () => {
  const parser = new DocumentParser();
  let ws: Workspace;
  beforeAll(async () => {
    ws = await Workspace.open(tempDir('extractive'));
    await ingestPaths(ws, [CORPUS], { parser });
    await generatePairs(ws, { teacher: 'extractive' });
  }, 180_000);
  afterAll(async () => {
    await parser.close();
    ws.close();
  });

  it('asks no templated question, covers every statute article, and asks nothing of phone lists', async () => {
    const pairs = await listQaPairs(ws);
    expect(pairs.filter((p) => TEMPLATED.test(p.question)).map((p) => p.question)).toEqual([]);
    const chunks = await ws.allChunks();
    const docs = await ws.committedDocumentIds();
    for (const d of [...docs.values()].filter((x) => x.language === 'zh')) {
      const articles = new Set(chunks.filter((c) => c.document_id === d.id).flatMap((c) => [...c.text.matchAll(/(?:^|\s)(第[一二三四五六七八九十百千零〇]+条)(?=\s)/gu)].map((m) => m[1]!)));
      const asked = new Set(pairs.filter((p) => p.document_id === d.id).flatMap((p) => [...p.question.matchAll(/第[一二三四五六七八九十百千零〇]+条/gu)].map((m) => m[0])));
      expect([...articles].filter((a) => !asked.has(a)), d.title).toEqual([]);
      expect(articles.size).toBeGreaterThan(100);
    }
    for (const p of pairs) expect(isContactList(p.answer), p.question).toBe(false);
    expect(pairs.some((p) => /^(?:Alaska|California|OSHA Area Offices)$/u.test(p.question) || /\b(?:Alaska|OSHA Area Offices)\b/u.test(p.question))).toBe(false);
    // The leaflets' lists become pairs: each of their "Prepare / Survive / Be safe" sections is asked about.
    const leaflets = pairs.filter((p) => /^What should you do (?:now )?to (?:prepare|survive|be safe)/u.test(p.question));
    expect(leaflets.length).toBe(6);
  });
});

/**
 * English questions phrased from the content, as a reader would ask them: a section's own question, what a
 * heading names ("What are the factors in identifying incident complexity levels?", "What does the Planning
 * Section do?", "What should you do to survive during a tornado?"), and the what, who, when and how often
 * of a sentence (definitions, responsibilities, requirements and their conditions, instructions).
 */

export interface PhrasedPair {
  question: string;
  /** The sentence(s) of the section that answer it, verbatim. */
  evidence: string;
  kind: 'section' | 'definition' | 'responsibility' | 'requirement' | 'instruction' | 'purpose' | 'list';
}

/** Where a question stands: the heading path and the document's title, and the section's own text. */
export interface QuestionContext {
  heading: string;
  parents: string[];
  title: string;
  text: string;
}

/** Verbs that open instructions ("Cover your head…", "Do not enter…"). */
const IMPERATIVE = new Set(('apply avoid be become bring build call check choose clean close consider contact cover crouch determine ' +
  'develop disconnect do document download drop ensure evacuate find follow get go hold identify inform inspect install isolate ' +
  'keep know learn leave let lie listen lock look make move notify open pay place plan practice prepare protect put read release ' +
  'remove replace report retrain return review save secure seek select send shut sign stay store survive take tag talk tell test ' +
  'try turn use verify wait wash watch wear write maintain climb set extend tie carry face lift unplug label mark post provide ' +
  'assign establish limit restrict ventilate monitor clear assemble account').split(' '));

/** Verbs after "must"/"shall" that ask for their object ("What must employers provide?"). */
const OBJECT_VERBS = new Set(('apply assure certify check conduct contain develop document ensure establish follow have identify implement ' +
  'include inform inspect keep maintain meet modify notify perform place provide record remove replace report retrain review ' +
  'specify take train use verify wear').split(' '));

const PRONOUN_SUBJECT = /^(?:someone|anyone|everyone|no one|nobody|everybody|remember|if|when|although|because|while|for|in|on|at|as|to|by|with|since|unless|whether|after|before|once|so|but|and|or|it|they|this|that|these|those|there|he|she|we|here|such|some|many|most|other|others|each of|all of|both|either|neither|one)\b/iu;
const CONDITION = /^(If|When|Whenever|Before|After|During|While|Once|Unless|Until|In case of|Prior to|As part of)\s+([^,;:]{4,140}),\s+(.+)$/u;
const MODAL = '(must|shall|should|needs? to|(?:is|are) required to)';
const SUBJECT = '((?:the |an? |each |every |all |any )?(?:[A-Za-z’\'/-]+ ){0,4}?[A-Za-z’\'/()-]+)';

/** A phrase from a heading or sentence written as it reads inside a question: lower case except names and acronyms. */
export function asInText(phrase: string, body: string): string {
  const words = phrase.trim().split(/\s+/u);
  // The whole phrase as the text spells it inside a sentence ("the Incident Commander", "the incident").
  if (words.length > 1) {
    const re = new RegExp(`(?<![\\p{L}])${words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&')).join('\\s+')}(?![\\p{L}])`, 'giu');
    const inside = [...body.matchAll(re)].filter((m) => !/(?:^|[.!?:;•]\s*|[“"‘(]\s*)$/u.test(body.slice(Math.max(0, m.index - 3), m.index))).map((m) => m[0]);
    if (inside.length) return inside.find((x) => x !== x.toLowerCase()) ?? inside[0]!;
  }
  const allCaps = phrase === phrase.toUpperCase();
  return words.map((w) => {
    const bare = w.replace(/^[“"‘(]+|[”"’),.:;]+$/gu, '');
    if (!/\p{L}/u.test(bare) || bare === 'I') return w;
    // The body's own spelling of the word decides (proper names keep their capitals, NIMS stays NIMS).
    const re = new RegExp(`(?<![\\p{L}])${bare.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&')}(?![\\p{L}])`, 'giu');
    // Occurrences opening a sentence say nothing of the word's own spelling.
    const inside = [...body.matchAll(re)].filter((m) => !/(?:^|[.!?:;•]\s*|[“"‘(]\s*)$/u.test(body.slice(Math.max(0, m.index - 3), m.index))).map((m) => m[0]);
    // NIMS, OSHA; else lower case where the text has it so; a capital kept only where the text keeps it twice.
    const capitalised = inside.filter((s) => s !== s.toLowerCase());
    const spelled = inside.find((s) => s.slice(1) !== s.slice(1).toLowerCase())
      ?? inside.find((s) => s === s.toLowerCase())
      ?? (capitalised.length >= 2 ? capitalised[0] : undefined);
    if (spelled) return w.replace(bare, spelled);
    if (!allCaps && /^\p{Lu}{2,6}s?$/u.test(bare.replace(/[’']s$/u, ''))) return w;
    return w.replace(bare, bare.toLowerCase());
  }).join(' ');
}

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
const lowerFirst = (s: string, body: string): string => {
  const [first = '', ...rest] = s.split(' ');
  return [asInText(first, body), ...rest].join(' ');
};

/** The document's subject as its title names it: "Be Prepared for a Tornado" → "a tornado". */
export function titleTopic(title: string): string | null {
  const m = /\b(?:for|of|about)\s+((?:an?|the)\s+)?([\p{L}][\p{L} -]{2,40})$/iu.exec(title.trim());
  return m ? `${(m[1] ?? '').toLowerCase()}${m[2]!.toLowerCase()}` : null;
}

function stripNumbering(heading: string): string {
  return heading.replace(/^(?:(?:chapter|section|part|appendix)\s+[0-9ivxA-Z]+[.:]?\s+|[0-9]+(?:\.[0-9]+)*\.?\s+)/iu, '').replace(/[:：]$/u, '').trim();
}

/** The question a heading asks, or names; null when it names nothing a question can be made of. */
export function headingQuestion(ctx: QuestionContext): string | null {
  const h = stripNumbering(ctx.heading);
  if (!h || /\d{3,}/u.test(h) || h.split(/\s+/u).length > 12) return null;
  if (/[?？]$/u.test(h)) return h;
  const body = ctx.text;
  const words = h.split(/\s+/u);
  const topic = titleTopic(ctx.title);
  const doc = ctx.title.split(/[:：]/u)[0]!.trim();
  // A conditional instruction as a heading: "IF YOU ARE UNDER A TORNADO WARNING, FIND SAFE SHELTER RIGHT AWAY".
  const instruction = /^(if|when)\s+([^,]{4,80}),\s+(\S+)/iu.exec(h);
  if (instruction && IMPERATIVE.has(instruction[3]!.toLowerCase())) return `What should you do ${instruction[1]!.toLowerCase()} ${asInText(instruction[2]!, body)}?`;
  const facet = /^(purpose|scope|background|overview|introduction|summary|conclusions?|instructions)$/iu.exec(h)?.[1]?.toLowerCase();
  if (facet) {
    const parent = ctx.parents.map(stripNumbering).filter((p) => p && p !== doc).at(-1);
    // A title is a name: as written, unless set in capitals.
    const of = parent ? asInText(parent, body) : doc === doc.toUpperCase() ? asInText(doc, body) : doc;
    const the = /^(?:the|an?)\s/iu.test(of) ? '' : 'the ';
    if (facet === 'purpose' || facet === 'scope') return `What is the ${facet} of ${the}${of}?`;
    if (facet === 'background') return `What is the background to ${the}${of}?`;
    if (facet.startsWith('conclusion')) return `What does ${the}${of} conclude?`;
    if (facet === 'instructions') return `How is ${the}${of} used?`;
    return `What does ${the}${of} cover?`;
  }
  const steps = /^(.+?):?\s+(?:job\s+)?steps$/iu.exec(h);
  if (steps) return `What are the steps for ${asInText(steps[1]!, body)}?`;
  // Instructions as headings: "Prepare NOW", "Survive DURING", "Be Safe AFTER", "How to Stay Safe".
  const howTo = /^how to\s+(.+)$/iu.exec(h);
  if (howTo) return `How do you ${asInText(howTo[1]!, body)}${topic && !howTo[1]!.toLowerCase().includes(topic.replace(/^(?:an?|the)\s/u, '')) ? ` with ${topic}` : ''}?`;
  if (IMPERATIVE.has(words[0]!.toLowerCase())) {
    const when = /^(.+?)\s+(now|during|after|before)$/iu.exec(h);
    const vp = asInText(when ? when[1]! : h, body).replace(/^\p{Lu}/u, (c) => c.toLowerCase());
    if (when && topic) {
      const w = when[2]!.toLowerCase();
      return w === 'now' ? `What should you do now to ${vp} for ${topic}?` : `What should you do to ${vp} ${w} ${topic}?`;
    }
    return `How can you ${vp}?`;
  }
  // A table's two column titles run together as one heading ("Type 5 Incident Effect Indicators Incident
  // Management Indicators"): the first names the section.
  const lower = words.map((w) => w.toLowerCase());
  const repeat = lower.findIndex((w, i) => w.length > 3 && lower.indexOf(w) < i);
  const named = repeat > 0 ? words.slice(0, repeat).join(' ') : h;
  if (named.split(/\s+/u).length > 8 || !/^\p{Lu}/u.test(h)) return null;
  const np = asInText(named, body);
  const first = body.split(/(?<=[.!?])\s+/u)[0] ?? '';
  const esc = h.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&');
  const lead = new RegExp(`^(the |an? )?${esc}\\s+(is|are|(?:\\p{Ll}+s))\\b`, 'iu').exec(first);
  if (lead) {
    const the = lead[1] ? lead[1].toLowerCase() : '';
    const verb = lead[2]!.toLowerCase();
    const after = first.slice(lead[0].length).trim().split(/\s+/u)[0] ?? '';
    // "The Planning Section is established …", "… is responsible for …": what it does, not what it is.
    if ((verb === 'is' || verb === 'are') && !/^(?:responsible|\p{Ll}+ed)$/u.test(after)) return `What ${verb} ${the}${np}?`;
    if (verb === 'is' || verb === 'are') return `What ${verb === 'is' ? 'does' : 'do'} ${the}${np} do?`;
    if (!/ss$|us$|is$/u.test(verb)) return `What does ${the}${np} do?`;
  }
  // A plural noun phrase names a set the section lists: "Factors in Identifying …", "Hazard Control Measures".
  if (/ing$/iu.test(words[0]!)) return null;
  const headNoun = np.split(/\s+(?:of|in|for|to|from|on|and)\s+/iu)[0]!.split(/\s+/u).at(-1) ?? '';
  if (/^\p{Ll}+[^su]s$/u.test(headNoun) || /^\p{Lu}\p{Ll}+[^su]s$/u.test(headNoun)) return `What are the ${np}?`;
  return null;
}

/** Questions the sentences of a section answer. `near`: a phrase that places the question ("during a tornado"). */
export function sentenceQuestions(sentences: readonly string[], ctx: QuestionContext, near: string | null): PhrasedPair[] {
  const out: PhrasedPair[] = [];
  const body = ctx.text;
  for (const raw of sentences) {
    const s = raw.trim();
    if (s.length < 25 || s.length > 900 || /\(\d{3}\)|\bwww\.|@/u.test(s)) continue;
    const bare = s.replace(/[.!]$/u, '');
    let m: RegExpExecArray | null;
    // Definitions: "X means …", "“Lockout/tagout” refers to …", "A tagout device is a prominent warning …".
    if ((m = /^(?:([Aa]n?|[Tt]he)\s+)?([“"]?)(?!(?:An?|The)\s)([\p{L}][\p{L}\p{N}’'/()-]*(?:\s+[\p{L}\p{N}’'/()-]+){0,4}?)[”"]?\s+(means|refers to|is defined as|is a term for)\s+\S/u.exec(s))) {
      const term = m[3]!;
      // "The standard refers to …" mentions; a quoted term, or one without an article, is being defined.
      const defines = (m[4] !== 'refers to' || Boolean(m[2]) || !m[1]) && !/\b(?:that|which|who|uses|is|are)\b/iu.test(term);
      if (defines && !PRONOUN_SUBJECT.test(term)) {
        out.push({ question: `What is ${m[1] ? `${m[1].toLowerCase()} ` : ''}${asInText(term, body)}?`, evidence: s, kind: 'definition' });
        continue;
      }
    }
    if ((m = /^(?:([Aa]n?|[Tt]he)\s+)?(?!(?:An?|The)\s)([\p{L}][\p{L}’'/-]*(?:\s+[\p{L}’'/()-]+){0,4}?)\s+(is|are)\s+(an?|the|any|one of the|those|\p{Ll}+ly)\s+\S/u.exec(s))) {
      const subject = m[2]!;
      // "Tornadoes are violently rotating columns …": with an adverb, only the document's own subject.
      const topical = !/ly$/u.test(m[4]!) || ctx.title.toLowerCase().includes(subject.toLowerCase().replace(/e?s$/u, ''));
      // "The outline is …" leans on what came before; "A tagout device is …", "State plans are …" stand alone.
      const vague = m[1]?.toLowerCase() === 'the' && !subject.includes(' ');
      const clause = /\b(?:that|if|when|which|who|whom|you|your|we|our|is|are|was|were)\b/iu.test(subject) || /^\p{L}+ly$/u.test(subject);
      if (topical && !vague && !clause && !PRONOUN_SUBJECT.test(subject) && !/\b(?:must|shall|should|will|can|may)\b/iu.test(subject) && subject.split(' ').length <= 5) {
        out.push({ question: `What ${m[3]} ${m[1] ? `${m[1].toLowerCase()} ` : ''}${asInText(subject, body)}?`, evidence: s, kind: 'definition' });
        continue;
      }
    }
    if ((m = /^(?:([Tt]he|[Aa]n?)\s+)?(?!(?:An?|The)\s)([\p{L}][\p{L}’'/-]*(?:\s+[\p{L}’'/()-]+){0,5}?)\s+(is|are)\s+responsible for\s+(.+)$/u.exec(bare))) {
      out.push({ question: `What ${m[3]} ${m[1] ? `${m[1].toLowerCase()} ` : ''}${asInText(m[2]!, body)} responsible for?`, evidence: s, kind: 'responsibility' });
      continue;
    }
    if ((m = /^The purpose of (.+?) is to .+$/iu.exec(bare))) {
      out.push({ question: `What is the purpose of ${m[1]}?`, evidence: s, kind: 'purpose' });
      continue;
    }
    const cond = CONDITION.exec(bare);
    if (cond) {
      const condition = `${cond[1]!.toLowerCase()} ${cond[2]!.trim()}`;
      const rest = cond[3]!;
      const firstWord = rest.split(/\s+/u)[0]!.toLowerCase().replace(/[^a-z’']/gu, '');
      // An instruction under a condition: "If you are trapped, cover your mouth …".
      if (IMPERATIVE.has(firstWord) || /^(?:do not|don’t|don't|never|always|immediately)\b/iu.test(rest)) {
        out.push({ question: `${near ? `${cap(near)}, what` : 'What'} should you do ${condition}?`, evidence: s, kind: 'instruction' });
        continue;
      }
      // A requirement under a condition: "Before removing lockout devices, the employees must take …".
      const req = new RegExp(`^${SUBJECT}\\s+${MODAL}\\s+(not\\s+)?(be\\s+)?\\S`, 'iu').exec(rest);
      if (req && !PRONOUN_SUBJECT.test(req[1]!)) {
        const modal = /^(?:needs? to|is required to|are required to)$/iu.test(req[2]!) ? 'must' : req[2]!.toLowerCase();
        const who = lowerFirst(req[1]!, body);
        const not = req[3] ? ' not' : '';
        const question = req[4] || /^the following\b/iu.test(req[1]!)
          ? `What ${modal}${not} be done ${condition}?`
          : `What ${modal} ${who}${not} do ${condition}?`;
        out.push({ question, evidence: s, kind: 'requirement' });
        continue;
      }
    }
    // What something includes, whom it is for: "Sites … are available to small employers …".
    if ((m = /^(?:([Tt]he|[Aa]n?)\s+)?(?!(?:An?|The)\s)([\p{L}][\p{L}’'/-]*(?:\s+[\p{L}’'/()-]+){0,4}?)\s+(includes?|consists? of|(?:is|are) available to)\s+\S/u.exec(s))
      && !PRONOUN_SUBJECT.test(m[2]!) && !/\b(?:that|if|when|which|who|is|are|must|can|may|will|often|usually|also|typically|generally|sometimes|examples?)\b|ly\b/iu.test(m[2]!)
      && !(m[1]?.toLowerCase() === 'the' && !m[2]!.includes(' '))) {
      const the = m[1] ? `${m[1].toLowerCase()} ` : '';
      const verb = m[3]!;
      const plural = /^(?:include|consist of|are available to)$/u.test(verb);
      const question = /available/u.test(verb)
        ? `Who ${plural ? 'are' : 'is'} ${the}${asInText(m[2]!, body)} available to?`
        : `What ${plural ? 'do' : 'does'} ${the}${asInText(m[2]!, body)} ${verb.startsWith('consist') ? 'consist of' : 'include'}?`;
      out.push({ question, evidence: s, kind: 'definition' });
      continue;
    }
    // Examples of a kind: "… energy-isolating devices such as manually operated circuit breakers …".
    // A kind the section speaks of more than once, not a passing phrase.
    const kind = /((?:[\p{Ll}-]+\s+){0,3}[\p{Ll}-]+s),?\s+such as\s+[^.;]{6,}/u.exec(s)?.[1]
      ?.replace(/^(?:(?:the|by|using|use|of|and|with|for|to|in|on|from|are|is|include|including|other|putting|such|these|those|all|any|many|some|various)\s+)+/u, '');
    if (kind && kind.includes(' ') && body.split(kind).length > 2) {
      out.push({ question: `What are examples of ${kind}?`, evidence: s, kind: 'definition' });
      continue;
    }
    // An instruction with its moment: "Inspect the ladder for damage before each use." → "When should you
    // inspect the ladder for damage?"
    const first = bare.split(/\s+/u)[0]!.toLowerCase();
    if (IMPERATIVE.has(first) && !/^(?:do not|don’t|don't)\b/iu.test(bare) && (m = /^(\S+\s+.{6,120}?),?\s+((?:before|after|when|whenever|while|during|until)\s+.{4,})$/u.exec(bare))) {
      out.push({ question: `When should you ${m[1]!.charAt(0).toLowerCase()}${m[1]!.slice(1)}?`, evidence: s, kind: 'instruction' });
      continue;
    }
    // How often, how soon: "Employers must review the procedure at least annually."
    const freq = new RegExp(`^${SUBJECT}\\s+(must|shall|should)\\s+(.+?)\\s+(at least (?:once )?(?:annually|yearly|every [\\w-]+(?: [\\w-]+)?|once a \\w+)|annually|every \\d+ \\w+|periodically|within \\d+ \\w+|no later than .+)$`, 'iu').exec(bare);
    if (freq && !PRONOUN_SUBJECT.test(freq[1]!) && freq[3]!.split(' ').length <= 14) {
      const how = /^(?:within|no later)/iu.test(freq[4]!) ? 'How soon' : 'How often';
      out.push({ question: `${how} ${freq[2]!.toLowerCase()} ${lowerFirst(freq[1]!, body)} ${freq[3]}?`, evidence: s, kind: 'requirement' });
      continue;
    }
    // What a requirement asks for: "Employers must provide these devices …" → "What must employers provide?"
    const req = new RegExp(`^${SUBJECT}\\s+(must|shall)\\s+(not\\s+)?(?:also\\s+)?([a-z]+)\\b`, 'u').exec(bare);
    if (req && !PRONOUN_SUBJECT.test(req[1]!) && OBJECT_VERBS.has(req[4]!) && req[1]!.split(' ').length <= 4) {
      out.push({ question: `What ${req[2]}${req[3] ? ' not' : ''} ${lowerFirst(req[1]!, body)} ${req[4]}${near ? ` ${near}` : ''}?`, evidence: s, kind: 'requirement' });
    }
  }
  return out;
}

/**
 * The question for a section no rule found one for: what to do, where the section instructs; else what the
 * document says of its heading (a generic question, kept for sections that would otherwise teach nothing).
 */
export function fallbackQuestion(ctx: QuestionContext, sentences: readonly string[]): string | null {
  const h = stripNumbering(ctx.heading);
  if (!h || /[?？]$/u.test(h) || h.split(/\s+/u).length > 10 || /\d{3,}/u.test(h)) return null;
  // A heading in title case names something as the document names it; one in capitals is read as text.
  const np = h !== h.toUpperCase() && (h.match(/\b\p{Lu}/gu) ?? []).length >= 2 ? h : asInText(h, ctx.text);
  const parent = ctx.parents.map(stripNumbering).filter((x) => x && x !== ctx.title).at(-1);
  const where = !h.includes(' ') && parent ? ` (${asInText(parent, ctx.text)})` : '';
  const instructing = sentences.filter((x) => IMPERATIVE.has(x.trim().split(/\s+/u)[0]!.toLowerCase()) || /^(?:never|always|do not|don’t|don't)\b/iu.test(x.trim())).length;
  if (instructing * 2 >= sentences.length) return `What should you do for ${np}${where}?`;
  return `What does ${ctx.title.split(/[:：]/u)[0]!.trim()} say about ${np}${where}?`;
}

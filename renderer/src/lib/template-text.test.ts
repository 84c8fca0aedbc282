import { parse, type AST } from 'svelte/compiler';
import { describe, expect, it } from 'vitest';

/**
 * Every word a user can read must come from the i18n catalogs. This walks each component's template and
 * fails on literal letters (Latin or CJK) in text, in user-visible attributes, and in string literals that an
 * expression would render directly; text produced by `t(...)` or by data is fine.
 */

/** Words that are deliberately not translated. */
const ALLOWED_TEXT = new Set(['DocTune']);

/** Attributes whose value is shown to (or read out for) the user. */
const VISIBLE_ATTRIBUTES = new Set(['aria-label', 'aria-description', 'aria-valuetext', 'aria-roledescription', 'title', 'placeholder', 'alt', 'label']);

const LETTERS = /[\p{Script=Latin}\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;

const sources = import.meta.glob('../**/*.svelte', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;

interface Finding {
  where: string;
  text: string;
}

function isTranslated(text: string): boolean {
  return !LETTERS.test(text) || ALLOWED_TEXT.has(text.trim());
}

/** String literals an expression renders as-is: `'x'`, `a ? 'x' : 'y'`, `a || 'x'`, template literals. */
function renderedLiterals(node: unknown): string[] {
  if (!node || typeof node !== 'object') return [];
  const expression = node as { type: string; [key: string]: unknown };
  switch (expression.type) {
    case 'Literal':
      return typeof expression.value === 'string' ? [expression.value] : [];
    case 'TemplateLiteral':
      return (expression.quasis as { value: { cooked: string } }[]).map((quasi) => quasi.value.cooked);
    case 'ConditionalExpression':
      return [...renderedLiterals(expression.consequent), ...renderedLiterals(expression.alternate)];
    case 'LogicalExpression':
      return [...renderedLiterals(expression.left), ...renderedLiterals(expression.right)];
    default:
      return [];
  }
}

function checkExpression(expression: unknown, where: string, findings: Finding[]): void {
  for (const literal of renderedLiterals(expression)) {
    if (!isTranslated(literal)) findings.push({ where, text: literal });
  }
}

function checkAttribute(attribute: AST.Attribute, element: string, findings: Finding[]): void {
  if (!VISIBLE_ATTRIBUTES.has(attribute.name) || attribute.value === true) return;
  const where = `<${element} ${attribute.name}>`;
  const parts = Array.isArray(attribute.value) ? attribute.value : [attribute.value];
  for (const part of parts) {
    if (part.type === 'Text' && !isTranslated(part.data)) findings.push({ where, text: part.data });
    if (part.type === 'ExpressionTag') checkExpression(part.expression, where, findings);
  }
}

/** Walk any template node generically: fragments, elements, blocks and their branches. */
function walk(node: unknown, parent: string, findings: Finding[]): void {
  if (!node || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const child of node) walk(child, parent, findings);
    return;
  }
  const current = node as { type?: string; [key: string]: unknown };
  switch (current.type) {
    case 'Text':
      if (!isTranslated(String(current.data))) findings.push({ where: `text in <${parent}>`, text: String(current.data).trim() });
      return;
    case 'ExpressionTag':
      checkExpression(current.expression, `{…} in <${parent}>`, findings);
      return;
    case 'Attribute':
      checkAttribute(current as unknown as AST.Attribute, parent, findings);
      return;
    case 'Comment':
      return;
  }
  const name = typeof current.name === 'string' ? current.name : parent;
  for (const [key, value] of Object.entries(current)) {
    // Scripts and styles are not template; expressions of blocks ({#if x}) are not rendered text.
    if (key === 'instance' || key === 'module' || key === 'css' || key === 'expression' || key === 'metadata') continue;
    if (value && typeof value === 'object') walk(value, name, findings);
  }
}

function untranslatedTextOf(source: string, filename: string): Finding[] {
  const ast = parse(source, { filename, modern: true });
  const findings: Finding[] = [];
  walk(ast.fragment, 'template', findings);
  return findings;
}

describe('component templates', () => {
  const files = Object.keys(sources).sort();

  it('finds the components to check', () => {
    expect(files.some((file) => file.endsWith('/App.svelte'))).toBe(true);
    expect(files.length).toBeGreaterThanOrEqual(8);
  });

  it.each(files)('%s has no untranslated text', (file) => {
    expect(untranslatedTextOf(sources[file] ?? '', file)).toEqual([]);
  });

  it('catches literal text, visible attributes and rendered literals', () => {
    const source = `<script>let x = 'Fine in script';</script>
      <p>Hello</p><p>你好</p><button title="Close" class="ok">{t('a')}</button>
      <span>{flag ? 'Yes' : t('no')}</span><span>{'—'}</span><span>{count}</span><h1>DocTune</h1>`;
    expect(untranslatedTextOf(source, 'Sample.svelte').map((finding) => finding.text)).toEqual(['Hello', '你好', 'Close', 'Yes']);
  });
});

// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import { escapeHtml, renderMarkdown } from './markdown';

describe('renderMarkdown', () => {
  it('renders paragraphs, emphasis, lists and fenced code blocks', () => {
    const html = renderMarkdown('Lock **out**, then:\n\n1. tag\n2. verify\n\n```js\nconst a = 1 < 2;\n```');
    expect(html).toContain('<strong>out</strong>');
    expect(html).toContain('<ol>');
    expect(html).toContain('<pre><code class="language-js">const a = 1 &lt; 2;\n</code></pre>');
  });

  it('shows raw HTML from the model as text, in blocks and inline', () => {
    const block = renderMarkdown('<script>alert(1)</script>');
    expect(block).not.toContain('<script');
    expect(block).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    const inline = renderMarkdown('Hello <img src=x onerror="alert(1)"> world <b>bold</b>');
    expect(inline).not.toMatch(/<img|<b>/);
    // As text (quotes need no escaping there).
    expect(inline).toContain('&lt;img src=x onerror="alert(1)"&gt;');
    expect(renderMarkdown('`<b>code</b>`')).toContain('<code>&lt;b&gt;code&lt;/b&gt;</code>');
  });

  it('keeps web links, opening outside the app, and drops other schemes', () => {
    expect(renderMarkdown('[OSHA](https://www.osha.gov/ "Site")')).toContain(
      '<a href="https://www.osha.gov/" title="Site" target="_blank" rel="noopener noreferrer">OSHA</a>',
    );
    const script = renderMarkdown('[click](javascript:alert(1))');
    expect(script).not.toContain('<a');
    expect(script).toContain('click');
    expect(renderMarkdown('[file](file:///etc/passwd)')).not.toContain('<a');
  });

  it('does not fetch images', () => {
    const html = renderMarkdown('![a chart](https://example.com/x.png)');
    expect(html).not.toContain('<img');
    expect(html).toContain('a chart');
  });

  it('keeps single line breaks, as chat answers mean them', () => {
    expect(renderMarkdown('one\ntwo')).toContain('one<br>two');
  });
});

describe('escapeHtml', () => {
  it('escapes the five HTML-special characters', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});

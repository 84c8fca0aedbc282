import { describe, expect, it } from 'vitest';
import { parseHtml } from './parse-html.js';
import { parseMarkdown } from './parse-markdown.js';

describe('parseHtml', () => {
  it('turns headings, paragraphs, list items and tables into blocks and drops scripts and navigation', () => {
    const html = `<!doctype html><html><head><title>Fire Safety Plan</title><style>p{}</style></head><body>
      <nav>Home | About</nav><script>alert(1)</script>
      <h1>Fire Safety Plan</h1>
      <p>Every floor has two exits.<br>Keep them clear.</p>
      <h2>Extinguishers</h2>
      <ul><li>Type ABC &amp; CO<sub>2</sub><ul><li>Check monthly</li></ul></li></ul>
      <table><tr><th>Floor</th><th>Warden</th></tr><tr><td>1</td><td>Li&nbsp;Wei</td></tr></table>
    </body></html>`;
    const doc = parseHtml(html, 'fallback');
    expect(doc.title).toBe('Fire Safety Plan');
    expect(doc.blocks).toEqual([
      { kind: 'heading', level: 1, text: 'Fire Safety Plan', page: null },
      { kind: 'paragraph', text: 'Every floor has two exits.', page: null },
      { kind: 'paragraph', text: 'Keep them clear.', page: null },
      { kind: 'heading', level: 2, text: 'Extinguishers', page: null },
      { kind: 'list-item', text: 'Type ABC & CO2', page: null },
      { kind: 'list-item', text: 'Check monthly', page: null },
      { kind: 'table', rows: [['Floor', 'Warden'], ['1', 'Li Wei']], page: null },
    ]);
  });
});

describe('parseMarkdown', () => {
  it('keeps heading levels, strips inline markup and keeps tables', () => {
    const doc = parseMarkdown('# 应急预案\n\n## 第一章 总则\n\n**第一条** 为了[预防](http://x)突发事件，制定本法。\n\n| 级别 | 颜色 |\n|---|---|\n| 一级 | 红色 |\n', 'x');
    expect(doc.blocks).toEqual([
      { kind: 'heading', level: 1, text: '应急预案', page: null },
      { kind: 'heading', level: 2, text: '第一章 总则', page: null },
      { kind: 'paragraph', text: '第一条 为了预防突发事件，制定本法。', page: null },
      { kind: 'table', rows: [['级别', '颜色'], ['一级', '红色']], page: null },
    ]);
  });
});

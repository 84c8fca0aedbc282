import DOMPurify from 'dompurify';
import { Marked } from 'marked';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** Links a model writes may open in the system browser; anything else (javascript:, file:, relative) stays text. */
const SAFE_HREF = /^(?:https?:\/\/|mailto:)/i;

/**
 * Markdown as a model writes it (paragraphs, lists, tables, code blocks), with every piece of raw HTML shown as
 * text: nothing the model writes becomes markup of its own. Images are not fetched; their alt text is shown.
 */
const markdown = new Marked({
  gfm: true,
  breaks: true,
  async: false,
  renderer: {
    html({ text, block }) {
      return block ? `<p>${escapeHtml(text)}</p>\n` : escapeHtml(text);
    },
    link({ href, title, tokens }) {
      const label = this.parser.parseInline(tokens);
      if (!SAFE_HREF.test(href)) return label;
      const titleAttr = title ? ` title="${escapeHtml(title)}"` : '';
      return `<a href="${escapeHtml(href)}"${titleAttr} target="_blank" rel="noopener noreferrer">${label}</a>`;
    },
    image({ text }) {
      return escapeHtml(text);
    },
  },
});

/**
 * The rendered HTML passed through DOMPurify as well: whatever the renderer above lets slip (a marked release
 * that renders something new) cannot carry script, handlers or other schemes into the page.
 */
// DOMPurify's own default, with the schemes cut to the web and mail (values without a scheme pass as before).
const ALLOWED_URI = /^(?:(?:https?|mailto):|[^a-z]|[a-z+.-]+(?:[^a-z+.\-:]|$))/i;

function sanitize(html: string): string {
  return DOMPurify.sanitize(html, { ALLOWED_URI_REGEXP: ALLOWED_URI, ADD_ATTR: ['target'], FORBID_TAGS: ['style', 'form', 'input', 'img'] });
}

const CACHE_SIZE = 200;
const cache = new Map<string, string>();

/**
 * Safe HTML for an answer. The conversation re-renders while an answer streams, so finished answers come from a
 * cache; `remember: false` keeps a half-written one out of it.
 */
export function renderMarkdown(text: string, remember = true): string {
  const cached = cache.get(text);
  if (cached !== undefined) return cached;
  const html = sanitize(markdown.parse(text, { async: false }));
  if (!remember) return html;
  cache.set(text, html);
  if (cache.size > CACHE_SIZE) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  return html;
}

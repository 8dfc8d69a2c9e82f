// Descriptions in the document are short CommonMark; the page shows the two parts it uses,
// paragraphs and `code` spans. Everything else stays text, escaped by hono's `html`.
import { html } from 'hono/html';

export type Html = ReturnType<typeof html>;

export function inlineHtml(text: string): Html[] {
  // Split on `…`: odd parts are code.
  return text.split(/`([^`]+)`/).map((part, i) => (i % 2 === 1 ? html`<code>${part}</code>` : html`${part}`));
}

export function proseHtml(text: string | undefined): Html[] {
  if (!text) return [];
  return text.split(/\n{2,}/).map((paragraph) => html`<p>${inlineHtml(paragraph)}</p>`);
}

// Python's `html.unescape` (CPython 3.11 Lib/html/__init__.py), which the CLIP reference tokenizer
// applies twice after ftfy, and ftfy's own entity fixer (ftfy 6.3 fixes.py `unescape_html`).
import { HTML5_ENTITIES, INVALID_CHARREFS, INVALID_CODEPOINTS } from './generated/html-entities.ts';

let html5: Map<string, string> | undefined;
let invalidCodepoints: Set<number> | undefined;

/** The entity table, parsed on first use: most prompts contain no `&`. */
function entities(): Map<string, string> {
  if (!html5) {
    html5 = new Map();
    for (const line of HTML5_ENTITIES.split('\n')) {
      const tab = line.indexOf('\t');
      html5.set(line.slice(0, tab), line.slice(tab + 1));
    }
  }
  return html5;
}

const CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/g;

function replaceCharref(_match: string, ref: string): string {
  if (ref[0] === '#') {
    const hex = ref[1] === 'x' || ref[1] === 'X';
    const digits = ref.slice(hex ? 2 : 1).replace(/;$/, '');
    const num = Number.parseInt(digits, hex ? 16 : 10);
    const fixed = INVALID_CHARREFS[num];
    if (fixed !== undefined) return fixed;
    if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return '\uFFFD';
    invalidCodepoints ??= new Set(INVALID_CODEPOINTS);
    if (invalidCodepoints.has(num)) return '';
    return String.fromCodePoint(num);
  }
  const table = entities();
  const whole = table.get(ref);
  if (whole !== undefined) return whole;
  // The longest prefix that is a (legacy, semicolon-less) entity name, as the HTML5 standard says.
  for (let end = ref.length - 1; end > 1; end--) {
    const prefix = table.get(ref.slice(0, end));
    if (prefix !== undefined) return prefix + ref.slice(end);
  }
  return `&${ref}`;
}

/** Exactly Python's `html.unescape(s)`. */
export function htmlUnescape(s: string): string {
  return s.includes('&') ? s.replace(CHARREF, replaceCharref) : s;
}

const FTFY_ENTITY = /&#?[0-9A-Za-z]{1,24};?/g;
let ftfyEntities: Map<string, string> | undefined;

/**
 * ftfy's table: every `name;` of HTML5, plus the upper-cased form of lower-case names when
 * `html.unescape` would leave that form alone (ftfy chardata.py `_build_html_entities`).
 */
function ftfyEntityTable(): Map<string, string> {
  if (!ftfyEntities) {
    ftfyEntities = new Map();
    for (const [name, chars] of entities()) {
      if (!name.endsWith(';')) continue;
      ftfyEntities.set(`&${name}`, chars);
      if (name === name.toLowerCase()) {
        const upper = `&${name.toUpperCase()}`;
        if (htmlUnescape(upper) === upper) ftfyEntities.set(upper, chars.toUpperCase());
      }
    }
  }
  return ftfyEntities;
}

/** ftfy's `unescape_html`: named entities need their `;`; numeric ones must consume it. */
export function ftfyUnescapeHtml(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(FTFY_ENTITY, (entity) => {
    const named = ftfyEntityTable().get(entity);
    if (named !== undefined) return named;
    if (entity.startsWith('&#')) {
      const unescaped = htmlUnescape(entity);
      return unescaped.includes(';') ? entity : unescaped;
    }
    return entity;
  });
}

// The part of ftfy 6.3 (`ftfy.fix_text` with default settings) that prompt text meets: HTML
// entities, UTF-8 mojibake read as Latin-1/Windows-1252, C1 controls, Latin ligatures, full- and
// half-width forms, curly quotes, line breaks, terminal escapes, control characters, then NFC, all
// repeated until the text stops changing. ftfy's statistical "badness" detector is approximated by
// looking for byte sequences that are valid UTF-8 once re-encoded; ftfy's rarer single-byte
// encodings (Windows-1250/1251/..., MacRoman, cp437) are not tried.
import { ftfyUnescapeHtml } from './html-unescape.ts';

/** Windows-1252's characters for bytes 0x80-0x9F; the five undefined bytes keep their C1 code point ("sloppy"). */
const CP1252_HIGH = '€\x81‚ƒ„…†‡ˆ‰Š‹Œ\x8DŽ\x8F\x90‘’“”•–—˜™š›œ\x9DžŸ';
const CP1252_BYTE = new Map<string, number>([...CP1252_HIGH].map((ch, i) => [ch, 0x80 + i]));

/** Byte of `ch` in sloppy Windows-1252, or -1. */
function sloppy1252Byte(ch: string): number {
  const code = ch.charCodeAt(0);
  if (code < 0x80 || (code >= 0xa0 && code <= 0xff)) return code;
  return CP1252_BYTE.get(ch) ?? -1;
}

// A UTF-8 lead byte then continuation bytes, each seen through sloppy Windows-1252 or Latin-1.
const CONT = `[\\x80-\\xbf${CP1252_HIGH}]`;
const MOJIBAKE = new RegExp(`[\\xc2-\\xdf]${CONT}|[\\xe0-\\xef]${CONT}{2}|[\\xf0-\\xf4]${CONT}{3}`, 'g');
const C1_CONTROL = /[\x80-\x9f]/g;

// ignoreBOM keeps a leading U+FEFF, as Python's utf-8 codec does.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes `text` re-encoded byte-per-char as UTF-8; undefined if impossible. */
function reencodeAsUtf8(text: string, byteOf: (ch: string) => number): string | undefined {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const b = byteOf(text[i]);
    if (b < 0) return undefined;
    bytes[i] = b;
  }
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

const latin1Byte = (ch: string): number => (ch.charCodeAt(0) <= 0xff ? ch.charCodeAt(0) : -1);

/** One round of ftfy's `fix_encoding` (fixes.py `_fix_encoding_one_step_and_explain`). */
function fixEncodingOnce(text: string): string {
  MOJIBAKE.lastIndex = 0;
  C1_CONTROL.lastIndex = 0;
  const looksBad = MOJIBAKE.test(text) || C1_CONTROL.test(text);
  if (!looksBad) return text;
  // The whole text was UTF-8 decoded as a single-byte encoding.
  const whole = reencodeAsUtf8(text, latin1Byte) ?? reencodeAsUtf8(text, sloppy1252Byte);
  if (whole !== undefined) return whole;
  // Mojibake mixed with correct text: fix each sequence alone (`decode_inconsistent_utf8`).
  const pieces = text.replace(MOJIBAKE, (seq) => reencodeAsUtf8(seq, sloppy1252Byte) ?? seq);
  if (pieces !== text) return pieces;
  return fixC1Controls(text);
}

function fixEncoding(text: string): string {
  for (;;) {
    const fixed = fixEncodingOnce(text);
    if (fixed === text) return text;
    text = fixed;
  }
}

/** C1 controls are almost always Windows-1252 bytes decoded as Latin-1. */
function fixC1Controls(text: string): string {
  return text.replace(C1_CONTROL, (ch) => CP1252_HIGH[ch.charCodeAt(0) - 0x80]);
}

const LIGATURES: Readonly<Record<string, string>> = {
  Ĳ: 'IJ',
  ĳ: 'ij',
  ŉ: 'ʼn',
  Ǳ: 'DZ',
  ǲ: 'Dz',
  ǳ: 'dz',
  Ǆ: 'DŽ',
  ǅ: 'Dž',
  ǆ: 'dž',
  Ǉ: 'LJ',
  ǈ: 'Lj',
  ǉ: 'lj',
  Ǌ: 'NJ',
  ǋ: 'Nj',
  ǌ: 'nj',
  ﬀ: 'ff',
  ﬁ: 'fi',
  ﬂ: 'fl',
  ﬃ: 'ffi',
  ﬄ: 'ffl',
  ﬅ: 'ſt',
  ﬆ: 'st',
};
const LIGATURE_RE = new RegExp(`[${Object.keys(LIGATURES).join('')}]`, 'g');

/** ftfy maps U+FF01..U+FFEF to their NFKC forms where those differ, and U+3000 to a space. */
const WIDE_RE = /[\u3000\uff01-\uffef]/g;
const narrow = (ch: string): string => (ch === '\u3000' ? ' ' : ch.normalize('NFKC'));

const TERMINAL_ESCAPE = /\x1b\[((?:\d|;)*)([a-zA-Z])/g;
// ftfy chardata.py CONTROL_CHARS: C0 controls except \t \n \f \r, DEL, deprecated format
// characters, the BOM, and interlinear annotation characters.
const CONTROL_CHARS = /[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g;

function fixOnce(text: string, unescapeHtml: boolean): string {
  if (unescapeHtml) text = ftfyUnescapeHtml(text);
  text = fixEncoding(text);
  text = fixC1Controls(text);
  text = text.replace(LIGATURE_RE, (ch) => LIGATURES[ch]);
  text = text.replace(WIDE_RE, narrow);
  text = text.replace(/[\u201c-\u201f]/g, '"').replace(/[\u02bc\u2018-\u201b]/g, "'");
  text = text.replace(/\r\n|[\r\u2028\u2029\u0085]/g, '\n');
  text = text.replace(TERMINAL_ESCAPE, '');
  text = text.replace(CONTROL_CHARS, '');
  return text.normalize('NFC');
}

/** `ftfy.fix_text(text)`, for the cases prompts meet; see the file comment for what is left out. */
export function fixText(text: string): string {
  // ftfy works line by line, and stops unescaping HTML for good once a line contains '<'.
  let unescapeHtml = true;
  const out: string[] = [];
  for (const segment of text.includes('\n') ? text.split(/(?<=\n)/) : [text]) {
    if (segment.includes('<')) unescapeHtml = false;
    let fixed = segment;
    for (;;) {
      const next = fixOnce(fixed, unescapeHtml);
      if (next === fixed) break;
      fixed = next;
    }
    out.push(fixed);
  }
  return out.join('');
}

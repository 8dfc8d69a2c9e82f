// AUTOMATIC1111's prompt emphasis syntax, after `parse_prompt_attention` in
// stable-diffusion-webui modules/prompt_parser.py (commit 28bd8e14, which allows spaces around the
// weight in `(word : 1.2)`):
//   (text) ×1.1   [text] ×1/1.1   (text:1.5) ×1.5   nesting multiplies
//   \( \) \[ \] \\ are literal; a lone backslash is dropped, as in A1111
//   a `)` or `]` with nothing open is literal text; brackets left open apply to the end of the prompt
//   BREAK as a word becomes a { text: 'BREAK', weight: -1 } marker that ends the current chunk
// The same multiplications run in the same order as A1111's, so the weights are the same doubles.

import { PromptWeightError } from './prompt-errors.ts';

export interface WeightedText {
  text: string;
  /** Emphasis multiplier; -1 on a BREAK marker. */
  weight: number;
}

// Python's `\s`, `\d` and `\b` are Unicode-aware in str patterns; JavaScript's differ, so each is
// spelled out: whitespace as `str.isspace()`, digits as Nd, word characters as `str.isalnum()` or `_`.
const PY_SPACE = String.raw`[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]`;
const PY_WORD = String.raw`[\p{L}\p{N}_]`;

// A1111's `re_attention`, alternative for alternative; group 1 is the weight of `:1.5)`.
const ATTENTION_TOKEN = new RegExp(
  [
    String.raw`\\\(`,
    String.raw`\\\)`,
    String.raw`\\\[`,
    String.raw`\\\]`,
    String.raw`\\\\`,
    String.raw`\\`,
    String.raw`\(`,
    String.raw`\[`,
    String.raw`:${PY_SPACE}*([+-]?[.\p{Nd}]+)${PY_SPACE}*\)`,
    String.raw`\)`,
    String.raw`\]`,
    String.raw`[^\\()\[\]:]+`,
    ':',
  ].join('|'),
  'gu',
);

// A1111's `re_break`: `\s*\bBREAK\b\s*`.
const BREAK_WORD = new RegExp(`${PY_SPACE}*(?<!${PY_WORD})BREAK(?!${PY_WORD})${PY_SPACE}*`, 'u');

const ROUND_BRACKET_MULTIPLIER = 1.1;
const SQUARE_BRACKET_MULTIPLIER = 1 / 1.1;

/** The fragment `parsePromptAttention` emits for a BREAK. */
export const BREAK_MARKER: Readonly<WeightedText> = { text: 'BREAK', weight: -1 };

/** True for a BREAK marker that no bracket has scaled (A1111 tests `text == 'BREAK' and weight == -1`). */
export function isBreakMarker(fragment: WeightedText): boolean {
  return fragment.text === BREAK_MARKER.text && fragment.weight === BREAK_MARKER.weight;
}

/** Splits a prompt into runs of text with their emphasis weights; `''` gives `[{ text: '', weight: 1 }]`. */
export function parsePromptAttention(text: string): WeightedText[] {
  const res: WeightedText[] = [];
  const roundBrackets: number[] = [];
  const squareBrackets: number[] = [];

  const multiplyRange = (start: number, multiplier: number) => {
    for (let p = start; p < res.length; p++) res[p].weight *= multiplier;
  };

  for (const match of text.matchAll(ATTENTION_TOKEN)) {
    const token = match[0];
    const weight = match[1];
    const openRound = roundBrackets.at(-1);
    const openSquare = squareBrackets.at(-1);

    if (token.startsWith('\\')) {
      res.push({ text: token.slice(1), weight: 1 });
    } else if (token === '(') {
      roundBrackets.push(res.length);
    } else if (token === '[') {
      squareBrackets.push(res.length);
    } else if (weight !== undefined && openRound !== undefined) {
      roundBrackets.pop();
      multiplyRange(openRound, parseWeight(weight));
    } else if (token === ')' && openRound !== undefined) {
      roundBrackets.pop();
      multiplyRange(openRound, ROUND_BRACKET_MULTIPLIER);
    } else if (token === ']' && openSquare !== undefined) {
      squareBrackets.pop();
      multiplyRange(openSquare, SQUARE_BRACKET_MULTIPLIER);
    } else {
      // Includes `:1.5)` with no `(` open, which A1111 keeps as text.
      token.split(BREAK_WORD).forEach((part, i) => {
        if (i > 0) res.push({ ...BREAK_MARKER });
        res.push({ text: part, weight: 1 });
      });
    }
  }

  // Unclosed brackets, outermost first, round before square: A1111's order, so the products match.
  for (const start of roundBrackets) multiplyRange(start, ROUND_BRACKET_MULTIPLIER);
  for (const start of squareBrackets) multiplyRange(start, SQUARE_BRACKET_MULTIPLIER);

  if (res.length === 0) return [{ text: '', weight: 1 }];

  // Merge runs of identical weights. A marker scaled by brackets (`(a BREAK b)` gives -1.1) is no
  // longer a marker: A1111 then encodes the word "BREAK" with that weight, and so do we.
  const merged: WeightedText[] = [res[0]];
  for (const fragment of res.slice(1)) {
    const last = merged[merged.length - 1];
    if (last.weight === fragment.weight) last.text += fragment.text;
    else merged.push(fragment);
  }
  return merged;
}

/** Python `float()` of the weight: Unicode decimal digits count, anything else (`1.2.3`, `.`) is an error. */
function parseWeight(weight: string): number {
  const value = Number(weight.replace(/\p{Nd}/gu, (digit) => String(decimalDigitValue(digit))));
  if (Number.isNaN(value)) throw new PromptWeightError(weight);
  return value;
}

// Unicode encodes each script's digits 0–9 as a run of ten consecutive Nd code points, and runs that
// touch (the mathematical digits) are whole runs of ten, so the value is the offset in the run mod 10.
function decimalDigitValue(digit: string): number {
  const codePoint = digit.codePointAt(0) as number;
  let start = codePoint;
  while (/\p{Nd}/u.test(String.fromCodePoint(start - 1))) start--;
  return (codePoint - start) % 10;
}

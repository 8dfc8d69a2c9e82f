// Prompt text as the prompt policy compares it: the trivial ways of writing a blocked word so that
// a plain string match misses it, but a reader (and CLIP) still sees it, are folded away first.
// The result is lowercase Latin letters and digits in words separated by single spaces, so terms
// match on word boundaries and patterns see one simple alphabet.
import { cleanText } from '@latent-edge/shared/tokenizer/clip-tokenizer';

/**
 * Letters of other scripts drawn like Latin ones (Unicode's confusables.txt, the lowercase
 * Cyrillic and Greek entries that matter for Latin words). Applied after lowercasing.
 */
const LOOKALIKES: Readonly<Record<string, string>> = {
  // Cyrillic
  а: 'a',
  в: 'b',
  е: 'e',
  ё: 'e',
  і: 'i',
  ї: 'i',
  ј: 'j',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  ѕ: 's',
  һ: 'h',
  ԁ: 'd',
  ԛ: 'q',
  ԝ: 'w',
  ү: 'y',
  ѵ: 'v',
  ӏ: 'l',
  // Greek
  α: 'a',
  β: 'b',
  γ: 'y',
  ε: 'e',
  η: 'n',
  ι: 'i',
  κ: 'k',
  μ: 'u',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  ς: 's',
  τ: 't',
  υ: 'u',
  χ: 'x',
  ω: 'w',
  // Latin letters outside ASCII that NFKC leaves alone
  ı: 'i',
  ɡ: 'g',
  ɑ: 'a',
  ℓ: 'l',
};
const LOOKALIKE_RE = new RegExp(`[${Object.keys(LOOKALIKES).join('')}]`, 'gu');

/**
 * Characters that draw nothing: format characters (zero-width space and joiners, soft hyphen,
 * word joiner, bidi controls, BOM) and the Hangul fillers, which are letters that render blank.
 * Combining marks (variation selectors, the grapheme joiner) go with the accents below.
 */
const INVISIBLE = /[\p{Cf}\u115f\u1160\u3164\uffa0]/gu;
const COMBINING_MARKS = /\p{M}/gu;
/** Everything but letters and digits separates words. */
const SEPARATORS = /[^\p{L}\p{N}]+/gu;
/** Two or more one-character words in a row: a word spelled out ("n u d e", "n.u.d.e"). */
const SPELLED_OUT = /(?:^| )((?:[\p{L}\p{N}] )+[\p{L}\p{N}])(?= |$)/gu;

/** The text's words, folded: the form both terms and patterns are matched against. */
export function normalizePromptText(text: string): string {
  // 1. The tokenizer's own cleaning (ftfy fixes, HTML entities, whitespace, lowercase).
  let folded = cleanText(text).replace(INVISIBLE, '');
  // 2. Compatibility forms (full width, ligatures, mathematical and circled letters) to plain ones.
  folded = folded.normalize('NFKC').toLowerCase();
  // 3. Accents off: decompose, then drop the combining marks.
  folded = folded.normalize('NFD').replace(COMBINING_MARKS, '').normalize('NFC');
  // 4. Lookalike letters to the Latin ones they imitate.
  folded = folded.replace(LOOKALIKE_RE, (ch) => LOOKALIKES[ch]);
  // 5. Words, separated by single spaces.
  return folded.replace(SEPARATORS, ' ').trim();
}

export interface PromptForms {
  /** The normalized words. */
  words: string;
  /** The same with each spelled-out run written together ("a n u d e" → "anude"), for patterns. */
  joined: string;
  /**
   * The spelled-out runs, joined: a blocked term anywhere inside one counts, since the run may
   * begin with a real one-letter word ("a n u d e" is "a" then "nude").
   */
  spelledOut: string[];
}

/** The forms of a prompt the policy checks (forms of a plain prompt are all its words). */
export function promptForms(text: string): PromptForms {
  const words = normalizePromptText(text);
  const spelledOut: string[] = [];
  const joined = words.replace(SPELLED_OUT, (match, letters: string) => {
    const run = letters.replaceAll(' ', '');
    spelledOut.push(run);
    return match.replace(letters, run);
  });
  return { words, joined, spelledOut };
}

import { describe, expect, it } from 'vitest';
import { isBreakMarker, parsePromptAttention } from '../src/prompt/parse-attention.ts';
import { PromptError, PromptWeightError } from '../src/prompt/prompt-errors.ts';

// Expected weights are written as the multiplications A1111 performs, in its order, so they are
// the same doubles and compare with toEqual (no tolerance).

describe('parsePromptAttention', () => {
  it('returns plain text as one fragment of weight 1', () => {
    expect(parsePromptAttention('normal text')).toEqual([{ text: 'normal text', weight: 1 }]);
  });

  it('returns one empty fragment of weight 1 for an empty prompt or empty brackets', () => {
    for (const prompt of ['', '()', '[]', '(:1.5)']) {
      expect(parsePromptAttention(prompt), prompt).toEqual([{ text: '', weight: 1 }]);
    }
  });

  it('multiplies by 1.1 for (), 1/1.1 for [] and w for (text:w)', () => {
    expect(parsePromptAttention('a (b:1.5) [c] ((d))')).toEqual([
      { text: 'a ', weight: 1 },
      { text: 'b', weight: 1 * 1.5 },
      { text: ' ', weight: 1 },
      { text: 'c', weight: 1 * (1 / 1.1) },
      { text: ' ', weight: 1 },
      { text: 'd', weight: 1 * 1.1 * 1.1 }, // 1.2100000000000002
    ]);
  });

  // modules/prompt_parser.py docstring (AUTOMATIC1111/stable-diffusion-webui@28bd8e14), exact values.
  it('reproduces the weights of the A1111 doctest', () => {
    expect(parsePromptAttention('a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).')).toEqual([
      { text: 'a ', weight: 1.0 },
      { text: 'house', weight: 1.5730000000000004 },
      { text: ' ', weight: 1.1 },
      { text: 'on', weight: 1.0 },
      { text: ' a ', weight: 1.1 },
      { text: 'hill', weight: 0.55 },
      { text: ', sun, ', weight: 1.1 },
      { text: 'sky', weight: 1.4641000000000006 },
      { text: '.', weight: 1.1 },
    ]);
    expect(parsePromptAttention('an (important) word')).toEqual([
      { text: 'an ', weight: 1 },
      { text: 'important', weight: 1.1 },
      { text: ' word', weight: 1 },
    ]);
  });

  it('multiplies nested brackets from the inside out', () => {
    // a: ×2 by its own weight, then ×1.1 by the outer (); b: ×1/1.1 by [], then ×1.1.
    expect(parsePromptAttention('((a:2) [b])')).toEqual([
      { text: 'a', weight: 1 * 2 * 1.1 },
      { text: ' ', weight: 1 * 1.1 },
      { text: 'b', weight: 1 * (1 / 1.1) * 1.1 },
    ]);
  });

  it('merges adjacent fragments of equal weight', () => {
    expect(parsePromptAttention('(unnecessary)(parens)')).toEqual([
      { text: 'unnecessaryparens', weight: 1.1 },
    ]);
    expect(parsePromptAttention('a (b:1) c')).toEqual([{ text: 'a b c', weight: 1 }]);
  });

  it('accepts spaces, a sign and a bare decimal point in an explicit weight', () => {
    // The space before the colon is part of the text run, as in A1111; the tokenizer drops it.
    expect(parsePromptAttention('(a : 1.5 )')).toEqual([{ text: 'a ', weight: 1.5 }]);
    expect(parsePromptAttention('(a:+.5)')).toEqual([{ text: 'a', weight: 0.5 }]);
    expect(parsePromptAttention('(a:2.)')).toEqual([{ text: 'a', weight: 2 }]);
    expect(parsePromptAttention('(a:-1)')).toEqual([{ text: 'a', weight: -1 }]);
  });

  it('reads non-ASCII decimal digits in a weight as Python float() does', () => {
    // U+0661 ARABIC-INDIC DIGIT ONE, U+0665 FIVE; U+1D7D0 MATHEMATICAL BOLD DIGIT TWO.
    expect(parsePromptAttention('(a:\u0661.\u0665)')).toEqual([{ text: 'a', weight: 1.5 }]);
    expect(parsePromptAttention('(a:\u{1d7d0})')).toEqual([{ text: 'a', weight: 2 }]);
  });

  it('throws PromptWeightError for a weight that is not a number', () => {
    expect(() => parsePromptAttention('(a:1.2.3)')).toThrow(PromptWeightError);
    expect(() => parsePromptAttention('(a:.)')).toThrow(PromptError);
    expect(() => parsePromptAttention('(a:1.2.3)')).toThrow('"1.2.3" is not a number');
  });

  it('keeps an explicit weight as text when no round bracket is open', () => {
    expect(parsePromptAttention('a:1.5) b')).toEqual([{ text: 'a:1.5) b', weight: 1 }]);
    expect(parsePromptAttention('a:1.2.3)')).toEqual([{ text: 'a:1.2.3)', weight: 1 }]);
    // Inside [], the colon and number are text and ] divides by 1.1.
    expect(parsePromptAttention('[a:1.5]')).toEqual([{ text: 'a:1.5', weight: 1 / 1.1 }]);
  });

  it('lets an explicit weight close the innermost round bracket across an open square bracket', () => {
    // ( opens at "a ", [ at "b"; ":1.5)" scales both by 1.5; the unclosed [ then scales "b" by 1/1.1.
    expect(parsePromptAttention('(a [b:1.5)')).toEqual([
      { text: 'a ', weight: 1 * 1.5 },
      { text: 'b', weight: 1 * 1.5 * (1 / 1.1) },
    ]);
  });

  it('makes escaped brackets and backslashes literal', () => {
    expect(parsePromptAttention(String.raw`\(literal\]`)).toEqual([{ text: '(literal]', weight: 1 }]);
    expect(parsePromptAttention(String.raw`\[a\) \\ b`)).toEqual([{ text: String.raw`[a) \ b`, weight: 1 }]);
    expect(parsePromptAttention(String.raw`\(a:1.5\)`)).toEqual([{ text: '(a:1.5)', weight: 1 }]);
    expect(parsePromptAttention(String.raw`(\(a\))`)).toEqual([{ text: '(a)', weight: 1.1 }]);
  });

  it('drops a backslash that escapes nothing, as A1111 does', () => {
    expect(parsePromptAttention(String.raw`a\b`)).toEqual([{ text: 'ab', weight: 1 }]);
  });

  it('applies unclosed brackets to the end of the prompt, round before square', () => {
    expect(parsePromptAttention('(unbalanced')).toEqual([{ text: 'unbalanced', weight: 1.1 }]);
    expect(parsePromptAttention('a [b (c')).toEqual([
      { text: 'a ', weight: 1 },
      { text: 'b ', weight: 1 * (1 / 1.1) },
      { text: 'c', weight: 1 * 1.1 * (1 / 1.1) }, // exactly 1
    ]);
    expect(parsePromptAttention('((a) b')).toEqual([
      { text: 'a', weight: 1 * 1.1 * 1.1 },
      { text: ' b', weight: 1 * 1.1 },
    ]);
  });

  it('keeps a closing bracket with nothing open as text', () => {
    expect(parsePromptAttention('a) b] c')).toEqual([{ text: 'a) b] c', weight: 1 }]);
    // "]" closes no "(", so it is text inside the unclosed "(" and takes its 1.1.
    expect(parsePromptAttention('(a]')).toEqual([{ text: 'a]', weight: 1.1 }]);
  });
});

describe('BREAK', () => {
  it('becomes a marker of weight -1, taking the whitespace around it', () => {
    const parsed = parsePromptAttention('a BREAK b');
    expect(parsed).toEqual([
      { text: 'a', weight: 1 },
      { text: 'BREAK', weight: -1 },
      { text: 'b', weight: 1 },
    ]);
    expect(isBreakMarker(parsed[1])).toBe(true);
    expect(parsePromptAttention('a\n BREAK\t b')).toEqual(parsed);
  });

  it('counts only as a whole upper-case word', () => {
    for (const prompt of ['BREAKfast', 'aBREAK', 'break', 'Break', 'BREAK_', '\u00e9BREAK', 'BREAK2']) {
      expect(parsePromptAttention(prompt), prompt).toEqual([{ text: prompt, weight: 1 }]);
    }
    expect(parsePromptAttention('a,BREAK,b')).toEqual([
      { text: 'a,', weight: 1 },
      { text: 'BREAK', weight: -1 },
      { text: ',b', weight: 1 },
    ]);
  });

  it('leaves empty fragments around a BREAK at either end', () => {
    expect(parsePromptAttention('BREAK')).toEqual([
      { text: '', weight: 1 },
      { text: 'BREAK', weight: -1 },
      { text: '', weight: 1 },
    ]);
    expect(parsePromptAttention('BREAK a')).toEqual([
      { text: '', weight: 1 },
      { text: 'BREAK', weight: -1 },
      { text: 'a', weight: 1 },
    ]);
  });

  it('is scaled by enclosing brackets and then is no longer a marker', () => {
    // A1111 multiplies the marker's -1 like any fragment; its chunker then encodes the word "BREAK".
    const parsed = parsePromptAttention('(a BREAK b)');
    expect(parsed).toEqual([
      { text: 'a', weight: 1 * 1.1 },
      { text: 'BREAK', weight: -1 * 1.1 },
      { text: 'b', weight: 1 * 1.1 },
    ]);
    expect(isBreakMarker(parsed[1])).toBe(false);
  });
});

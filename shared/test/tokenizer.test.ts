import { describe, expect, it } from 'vitest';
import { cleanText, toModelInput } from '../src/tokenizer/clip-tokenizer.ts';
import { compileTokenizer, loadCompiledTokenizer } from '../src/tokenizer/compiled-tokenizer.ts';
import {
  createClipTokenizer,
  readTokenizerFiles,
  TokenizerFilesError,
} from '../src/tokenizer/tokenizer-files.ts';
import { tinyTokenizerFiles } from './support/tiny-vocab.ts';

// Byte ids follow CLIP's layout: 'a' is byte 0x61, the 65th printable byte from '!' (0x21), so id 64.
const A = 64;
const C = 66;
const T = 83;
const END = 256; // offset of the `</w>` variants
const MERGES = ['c a', 'ca t</w>', 'a t</w>'];
const CA = 512;
const CAT = 513;
const AT = 514;

describe('CLIP tokenizer on a small vocabulary', () => {
  const tokenizer = createClipTokenizer(tinyTokenizerFiles(MERGES));

  it('merges by rank and marks the word end with </w>', () => {
    // "cat": c a t</w> → (c a) first by rank 0 → ca t</w> → cat</w>.
    expect(tokenizer.encode('cat')).toEqual([CAT]);
    // "at": a t</w> → at</w>; "ta": t a</w>, no merge applies.
    expect(tokenizer.encode('at ta')).toEqual([AT, T, END + A]);
    // "cca": c c a</w>; no rank for (c,c) or (c,a</w>): stays as bytes.
    expect(tokenizer.encode('cca')).toEqual([C, C, END + A]);
    expect(tokenizer.encode('caca')).toEqual([CA, C, END + A]);
  });

  it('lowercases, folds whitespace and maps the special token strings', () => {
    expect(tokenizer.encode('  CAT\t\n cat ')).toEqual([CAT, CAT]);
    expect(tokenizer.encode('<|startoftext|>cat<|ENDOFTEXT|>')).toEqual([tokenizer.bos, CAT, tokenizer.eos]);
  });

  it('pads with EOS unless the model declares another pad token', () => {
    expect(tokenizer.pad).toBe(tokenizer.eos);
    const sd2 = createClipTokenizer(tinyTokenizerFiles(MERGES, '!'));
    expect(sd2.pad).toBe(0);
    const ids = toModelInput(sd2, sd2.encode('cat'));
    expect(ids).toHaveLength(77);
    expect(ids.slice(0, 4)).toEqual([sd2.bos, CAT, sd2.eos, 0]);
  });

  it('truncates to 75 tokens and keeps EOS last', () => {
    const ids = toModelInput(tokenizer, tokenizer.encode('cat '.repeat(100)));
    expect(ids).toHaveLength(77);
    expect(ids[0]).toBe(tokenizer.bos);
    expect(ids[76]).toBe(tokenizer.eos);
    expect(ids.slice(1, 76).every((id) => id === CAT)).toBe(true);
  });

  it('maps tokens and ids both ways', () => {
    expect(tokenizer.tokenToId('cat</w>')).toBe(CAT);
    expect(tokenizer.tokenToId(',</w>')).toBe(END + 11);
    expect(tokenizer.idToToken(CA)).toBe('ca');
    expect(tokenizer.tokenToId('dog</w>')).toBeUndefined();
  });

  it('gives identical results from the compiled form', () => {
    const compiled = loadCompiledTokenizer(
      compileTokenizer(readTokenizerFiles(tinyTokenizerFiles(MERGES, '!'))),
    );
    for (const text of ['cat', 'a cat at the caca', 'Ünïcödé, 123!']) {
      expect(compiled.encode(text)).toEqual(createClipTokenizer(tinyTokenizerFiles(MERGES)).encode(text));
    }
    expect(compiled.pad).toBe(0);
    expect(compiled.maxLength).toBe(77);
    expect(compiled.idToToken(CAT)).toBe('cat</w>');
  });

  it('loads a compiled blob that arrives at an unaligned offset', () => {
    const blob = compileTokenizer(readTokenizerFiles(tinyTokenizerFiles(MERGES)));
    const shifted = new Uint8Array(blob.length + 1);
    shifted.set(blob, 1);
    expect(loadCompiledTokenizer(shifted.subarray(1)).encode('cat')).toEqual([CAT]);
  });

  it('names what is wrong with broken tokenizer files', () => {
    const files = tinyTokenizerFiles(MERGES);
    expect(() => createClipTokenizer({ ...files, vocabJson: '{' })).toThrow(/vocab.json is not valid JSON/);
    expect(() => createClipTokenizer({ ...files, mergesTxt: 'c a\nx y z\n' })).toThrow(TokenizerFilesError);
    expect(() => createClipTokenizer({ ...files, mergesTxt: 'q q\n' })).toThrow(/merge result "qq"/);
    expect(() => loadCompiledTokenizer(new Uint8Array(16))).toThrow(/bad magic/);
  });
});

describe('text cleaning', () => {
  it('applies ftfy-style fixes, HTML unescaping and whitespace folding', () => {
    expect(cleanText('Caf\u00c3\u00a9  &amp; \u201cquotes\u201d\u00a0\uff21\ufb01')).toBe(
      'café & "quotes" afi',
    );
    expect(cleanText('tab\there\r\nnew\u3000line')).toBe('tab here new line');
  });
});

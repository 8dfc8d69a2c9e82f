import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_CHUNKS,
  type PromptChunk,
  tokenizeWeighted,
  type WeightedTokens,
} from '../src/prompt/prompt-chunks.ts';
import { embeddingLookup } from '../src/prompt/prompt-embeddings.ts';
import { PromptError, PromptTooLongError, PromptWeightRangeError } from '../src/prompt/prompt-errors.ts';
import { WeightedChunk } from '../src/protocol/gpu-job.ts';
import { LIMITS } from '../src/protocol/limits.ts';
import type { TextTokenizer } from '../src/tokenizer/text-tokenizer.ts';
import { createClipTokenizer } from '../src/tokenizer/tokenizer-files.ts';
import { tinyTokenizerFiles } from './support/tiny-vocab.ts';

// CLIP's ids for the special tokens and `,</w>`; the words are made up.
const BOS = 49406;
const EOS = 49407;
const COMMA = 267;
const WORD_IDS: Record<string, number> = { a: 320, b: 321, c: 322, d: 323, break: 324 };

/**
 * A tokenizer where every whitespace-separated word is one token and "," is its own: "wN" is id
 * 1000 + N, a few letters have fixed ids, and any other word throws so a typo cannot pass unseen.
 */
class WordTokenizer implements TextTokenizer {
  readonly bos = BOS;
  readonly eos = EOS;
  readonly maxLength = 77;

  constructor(readonly pad: number = EOS) {}

  encode(text: string): number[] {
    return (text.toLowerCase().match(/,|[^\s,]+/g) ?? []).map((word) => {
      const id = this.tokenToId(`${word}</w>`);
      if (id === undefined) throw new Error(`WordTokenizer: no id for "${word}"`);
      return id;
    });
  }

  tokenToId(token: string): number | undefined {
    const word = token.replace(/<\/w>$/, '');
    if (word === ',') return COMMA;
    const numbered = /^w(\d+)$/.exec(word);
    return numbered ? 1000 + Number(numbered[1]) : WORD_IDS[word];
  }

  idToToken(id: number): string | undefined {
    if (id === COMMA) return ',</w>';
    if (id > 1000 && id < 2000) return `w${id - 1000}</w>`;
    const word = Object.keys(WORD_IDS).find((key) => WORD_IDS[key] === id);
    return word === undefined ? undefined : `${word}</w>`;
  }
}

const tokenizer = new WordTokenizer();

/** "wFrom wFrom+1 … wTo". */
const words = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `w${from + i}`).join(' ');
/** The ids of `words(from, to)`. */
const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => 1000 + from + i);
const repeat = (count: number, value: number) => new Array<number>(count).fill(value);

/** The ids of every chunk, the part most tests check. */
const chunkIds = (result: WeightedTokens) => result.chunks.map((chunk: PromptChunk) => chunk.ids);

describe('tokenizeWeighted: chunk boundaries', () => {
  it('makes an empty prompt one chunk of BOS, EOS and padding, with no tokens', () => {
    for (const prompt of ['', '   ', '()']) {
      const result = tokenizeWeighted(tokenizer, prompt);
      // 77 = BOS + EOS + 75 padding ids.
      expect(result.chunks, prompt).toEqual([
        { ids: [BOS, EOS, ...repeat(75, EOS)], weights: repeat(77, 1) },
      ]);
      expect(result.tokenCount).toBe(0);
      expect(result.chunkCount).toBe(1);
    }
  });

  it('pads after EOS with the tokenizer pad id, 0 for an SD 2.x tokenizer', () => {
    const result = tokenizeWeighted(new WordTokenizer(0), 'a b');
    // 77 - BOS - 2 tokens - EOS = 73 padding ids.
    expect(chunkIds(result)).toEqual([[BOS, 320, 321, EOS, ...repeat(73, 0)]]);
  });

  it('fits 74 tokens in one chunk with one padding id', () => {
    const result = tokenizeWeighted(tokenizer, words(1, 74));
    expect(chunkIds(result)).toEqual([[BOS, ...ids(1, 74), EOS, EOS]]);
    expect(result.tokenCount).toBe(74);
  });

  it('fills one chunk exactly with 75 tokens, with no padding', () => {
    const result = tokenizeWeighted(tokenizer, words(1, 75));
    expect(chunkIds(result)).toEqual([[BOS, ...ids(1, 75), EOS]]);
    expect(result.tokenCount).toBe(75);
    expect(result.chunkCount).toBe(1);
  });

  it('moves the 76th token to a second chunk', () => {
    const result = tokenizeWeighted(tokenizer, words(1, 76));
    // Second chunk: BOS, w76, EOS and 77 - 3 = 74 padding ids.
    expect(chunkIds(result)).toEqual([
      [BOS, ...ids(1, 75), EOS],
      [BOS, ...ids(76, 76), EOS, ...repeat(74, EOS)],
    ]);
    expect(result.tokenCount).toBe(76);
    expect(result.chunkCount).toBe(2);
  });
});

describe('tokenizeWeighted: weights', () => {
  it('gives each token its fragment weight and BOS, EOS and padding weight 1', () => {
    const result = tokenizeWeighted(tokenizer, 'a (b:1.5) [c] ((d))');
    expect(result.chunks).toEqual([
      {
        ids: [BOS, 320, 321, 322, 323, EOS, ...repeat(71, EOS)],
        // a: 1; b: 1 × 1.5; c: 1 × (1/1.1); d: 1 × 1.1 × 1.1 = 1.2100000000000002; then EOS and padding.
        weights: [1, 1, 1 * 1.5, 1 * (1 / 1.1), 1 * 1.1 * 1.1, 1, ...repeat(71, 1)],
      },
    ]);
    expect(result.tokenCount).toBe(4);
  });
});

describe('tokenizeWeighted: weight limit', () => {
  /** The error tokenizeWeighted throws for `prompt`, or undefined. */
  const errorFor = (prompt: string, field?: string) => {
    try {
      tokenizeWeighted(tokenizer, prompt, { field });
    } catch (error) {
      return error;
    }
    return undefined;
  };

  it('refuses a weight above 10, naming the field, the weight, the text and the range', () => {
    const error = errorFor('c (a b:20)');
    expect(error).toBeInstanceOf(PromptWeightRangeError);
    expect(error).toBeInstanceOf(PromptError);
    expect(error).toMatchObject({ field: 'prompt', weight: 20, text: 'a b', limit: 10 });
    expect((error as Error).message).toBe(
      'prompt: the attention weight 20 on "a b" is outside the range this service allows, -10 to 10 ' +
        '(nested brackets multiply their weights: each ( ) is ×1.1)',
    );
  });

  it('refuses a weight below -10, in the field it is told', () => {
    const error = errorFor('(a b:-11)', 'negative_prompt');
    expect(error).toMatchObject({ field: 'negative_prompt', weight: -11 });
    expect((error as Error).message).toMatch(
      /^negative_prompt: the attention weight -11 on "a b" is outside/,
    );
  });

  it('refuses 25 nested brackets, whose weights multiply past 10', () => {
    // 1.1^25 = 10.834705943388… (multiplied one bracket at a time, as A1111 does).
    const error = errorFor(`${'('.repeat(25)}a${')'.repeat(25)}`);
    expect(error).toBeInstanceOf(PromptWeightRangeError);
    expect((error as PromptWeightRangeError).weight).toBeCloseTo(1.1 ** 25, 12);
    expect((error as Error).message).toContain('the attention weight 10.83 on "a"');
  });

  it('refuses a weight that is not a finite number once multiplied out', () => {
    // 400 nines parse as Infinity; 0 × Infinity is NaN.
    expect(errorFor(`(a:${'9'.repeat(400)})`)).toMatchObject({ weight: Number.POSITIVE_INFINITY });
    expect(errorFor(`((a:0):${'9'.repeat(400)})`)).toBeInstanceOf(PromptWeightRangeError);
  });

  it('accepts 10, -10 and 24 nested brackets, and the job schema accepts the chunks', () => {
    const weightsOf = (prompt: string) => tokenizeWeighted(tokenizer, prompt).chunks[0].weights.slice(0, 4);
    expect(weightsOf('(a b:10)')).toEqual([1, 10, 10, 1]);
    expect(weightsOf('(a b:-10)')).toEqual([1, -10, -10, 1]);
    // 1.1^24 ≈ 9.85.
    expect(weightsOf(`${'('.repeat(24)}a b${')'.repeat(24)}`)[1]).toBeCloseTo(1.1 ** 24, 12);
    for (const prompt of ['(a b:10)', '(a b:-10)']) {
      const [chunk] = tokenizeWeighted(tokenizer, prompt).chunks;
      expect(WeightedChunk.safeParse(chunk).success, prompt).toBe(true);
    }
  });

  it('uses the bound of the job schema', () => {
    const [chunk] = tokenizeWeighted(tokenizer, 'a').chunks;
    const withWeight = (weight: number) => ({ ...chunk, weights: [1, weight, ...chunk.weights.slice(2)] });
    expect(WeightedChunk.safeParse(withWeight(LIMITS.maxAttentionWeight)).success).toBe(true);
    expect(WeightedChunk.safeParse(withWeight(-LIMITS.maxAttentionWeight)).success).toBe(true);
    expect(WeightedChunk.safeParse(withWeight(LIMITS.maxAttentionWeight + 0.01)).success).toBe(false);
    expect(WeightedChunk.safeParse(withWeight(-LIMITS.maxAttentionWeight - 0.01)).success).toBe(false);
  });
});

describe('tokenizeWeighted: comma backtracking', () => {
  it('moves the tokens after a comma 5 tokens before the end of a full chunk, with their weights', () => {
    // w1..w70 take positions 0..69 and the comma 70, 75 - 70 = 5 from the end. When w75 arrives the
    // chunk is full, so w71..w74 move on and the first chunk keeps 71 tokens and 77 - 73 = 4 pads.
    const result = tokenizeWeighted(tokenizer, `${words(1, 70)}, (${words(71, 77)}:1.5)`);
    expect(result.chunks).toEqual([
      { ids: [BOS, ...ids(1, 70), COMMA, EOS, ...repeat(4, EOS)], weights: repeat(77, 1) },
      {
        ids: [BOS, ...ids(71, 77), EOS, ...repeat(68, EOS)],
        weights: [1, ...repeat(7, 1.5), 1, ...repeat(68, 1)],
      },
    ]);
    expect(result.tokenCount).toBe(78);
  });

  it('moves nothing for a comma 25 tokens before the end', () => {
    // Comma at position 50: 75 - 50 = 25 > 20, so the chunk is cut at 75 tokens as usual.
    const result = tokenizeWeighted(tokenizer, `${words(1, 50)}, ${words(51, 80)}`);
    expect(chunkIds(result)).toEqual([
      [BOS, ...ids(1, 50), COMMA, ...ids(51, 74), EOS],
      [BOS, ...ids(75, 80), EOS, ...repeat(69, EOS)],
    ]);
  });

  it('reaches back exactly 20 tokens', () => {
    // Comma at position 55: 75 - 55 = 20 moves w56..w74; at position 54: 75 - 54 = 21 does not.
    expect(chunkIds(tokenizeWeighted(tokenizer, `${words(1, 55)}, ${words(56, 80)}`))).toEqual([
      [BOS, ...ids(1, 55), COMMA, EOS, ...repeat(19, EOS)],
      [BOS, ...ids(56, 80), EOS, ...repeat(50, EOS)],
    ]);
    expect(chunkIds(tokenizeWeighted(tokenizer, `${words(1, 54)}, ${words(55, 80)}`))).toEqual([
      [BOS, ...ids(1, 54), COMMA, ...ids(55, 74), EOS],
      [BOS, ...ids(75, 80), EOS, ...repeat(69, EOS)],
    ]);
  });

  it('splits after the last comma of the chunk', () => {
    // Commas at positions 60 and 71; the split follows the one at 71.
    const result = tokenizeWeighted(tokenizer, `${words(1, 60)}, ${words(61, 70)}, ${words(71, 80)}`);
    expect(chunkIds(result)).toEqual([
      [BOS, ...ids(1, 60), COMMA, ...ids(61, 70), COMMA, EOS, ...repeat(3, EOS)],
      [BOS, ...ids(71, 80), EOS, ...repeat(65, EOS)],
    ]);
  });

  it('does not backtrack when commaPaddingBacktrack is 0', () => {
    const result = tokenizeWeighted(tokenizer, `${words(1, 70)}, ${words(71, 77)}`, {
      commaPaddingBacktrack: 0,
    });
    expect(chunkIds(result)).toEqual([
      [BOS, ...ids(1, 70), COMMA, ...ids(71, 74), EOS],
      [BOS, ...ids(75, 77), EOS, ...repeat(72, EOS)],
    ]);
  });

  it('forgets a comma once its chunk is closed by BREAK', () => {
    // The comma at position 60 of chunk 1 must not split chunk 2, whose 76th token arrives later.
    const result = tokenizeWeighted(tokenizer, `${words(1, 60)}, BREAK ${words(61, 140)}`);
    expect(chunkIds(result)).toEqual([
      [BOS, ...ids(1, 60), COMMA, EOS, ...repeat(14, EOS)],
      [BOS, ...ids(61, 135), EOS],
      [BOS, ...ids(136, 140), EOS, ...repeat(70, EOS)],
    ]);
  });
});

describe('tokenizeWeighted: BREAK', () => {
  it('closes the chunk and starts a new one', () => {
    const result = tokenizeWeighted(tokenizer, 'a b BREAK c');
    expect(chunkIds(result)).toEqual([
      [BOS, 320, 321, EOS, ...repeat(73, EOS)],
      [BOS, 322, EOS, ...repeat(74, EOS)],
    ]);
    // Prompt tokens only; A1111's own counter would show 75 + 1 = 76.
    expect(result.tokenCount).toBe(3);
    expect(result.chunkCount).toBe(2);
  });

  it('adds no empty chunk after exactly 75 tokens', () => {
    expect(chunkIds(tokenizeWeighted(tokenizer, `${words(1, 75)} BREAK c`))).toEqual([
      [BOS, ...ids(1, 75), EOS],
      [BOS, 322, EOS, ...repeat(74, EOS)],
    ]);
  });

  it('makes an empty first chunk when it leads, and nothing when it trails', () => {
    const empty = [BOS, EOS, ...repeat(75, EOS)];
    expect(chunkIds(tokenizeWeighted(tokenizer, 'BREAK a'))).toEqual([
      empty,
      [BOS, 320, EOS, ...repeat(74, EOS)],
    ]);
    expect(chunkIds(tokenizeWeighted(tokenizer, 'a BREAK'))).toEqual([[BOS, 320, EOS, ...repeat(74, EOS)]]);
    expect(chunkIds(tokenizeWeighted(tokenizer, 'BREAK'))).toEqual([empty]);
  });

  it('inside brackets is encoded as the word "break" with weight -1.1, as in A1111', () => {
    const [chunk] = tokenizeWeighted(tokenizer, '(a BREAK b)').chunks;
    expect(chunk.ids.slice(0, 5)).toEqual([BOS, 320, 324, 321, EOS]);
    // a and b: 1 × 1.1; the marker: -1 × 1.1.
    expect(chunk.weights.slice(0, 5)).toEqual([1, 1 * 1.1, -1 * 1.1, 1 * 1.1, 1]);
  });
});

describe('tokenizeWeighted: chunk limit', () => {
  it('defaults to the API limit of the job schema', () => {
    expect(DEFAULT_MAX_CHUNKS).toBe(LIMITS.maxPromptChunks);
    const fits = DEFAULT_MAX_CHUNKS * 75;
    expect(tokenizeWeighted(tokenizer, words(1, fits)).chunkCount).toBe(DEFAULT_MAX_CHUNKS);
    expect(() => tokenizeWeighted(tokenizer, words(1, fits + 1))).toThrow(PromptTooLongError);
  });

  it('accepts 225 tokens in 3 chunks', () => {
    const result = tokenizeWeighted(tokenizer, words(1, 225), { maxChunks: 3 });
    expect(chunkIds(result)).toEqual([
      [BOS, ...ids(1, 75), EOS],
      [BOS, ...ids(76, 150), EOS],
      [BOS, ...ids(151, 225), EOS],
    ]);
  });

  it('throws PromptTooLongError for 226 tokens, with the count and the limit', () => {
    let error: unknown;
    try {
      tokenizeWeighted(tokenizer, words(1, 226), { maxChunks: 3 });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(PromptTooLongError);
    expect(error).toBeInstanceOf(PromptError);
    // 226 tokens = 3 × 75 + 1: a fourth chunk; limit 3 × 75 = 225.
    expect(error).toMatchObject({
      field: 'prompt',
      tokenCount: 226,
      chunkCount: 4,
      maxChunks: 3,
      limit: 225,
    });
    expect((error as Error).message).toBe(
      'prompt is too long: it has 226 tokens, which take 4 chunks of 75 tokens, ' +
        'but at most 3 chunks (225 tokens) are allowed; shorten it',
    );
  });

  it('takes the limit from maxChunks', () => {
    expect(() => tokenizeWeighted(tokenizer, words(1, 76), { maxChunks: 1 })).toThrow(PromptTooLongError);
    expect(tokenizeWeighted(tokenizer, words(1, 226), { maxChunks: 4 }).chunkCount).toBe(4);
  });

  it('counts chunks made by BREAK against the limit and says so', () => {
    const prompt = 'a BREAK b BREAK c BREAK d';
    expect(() => tokenizeWeighted(tokenizer, prompt, { maxChunks: 3, field: 'negativePrompt' })).toThrow(
      'negativePrompt is too long: it has 4 tokens, which take 4 chunks of 75 tokens once BREAK and comma ' +
        'boundaries are applied, but at most 3 chunks (225 tokens) are allowed; shorten it or remove a BREAK',
    );
  });
});

// The real CLIP tokenizer on a small vocabulary: ids 0–255 are the byte characters and 256–511 the
// same with `</w>` (CLIP's layout, so "a</w>" is 256 + 64 = 320 and ",</w>" is 256 + 11 = 267), then
// one id per merge below, then <|startoftext|> and <|endoftext|>.
describe('tokenizeWeighted with the CLIP tokenizer', () => {
  const MERGES = ['c a', 'ca t</w>', 'd o', 'do g</w>'];
  const [CAT, DOG, CLIP_BOS, CLIP_EOS] = [513, 515, 516, 517];
  const [A_END, COMMA_END, C, T_END] = [256 + 64, 256 + 11, 66, 256 + 83];
  const clip = createClipTokenizer(tinyTokenizerFiles(MERGES));

  it('encodes each emphasis fragment and gives its tokens its weight', () => {
    // Fragments "a ", "cat" (1.5), ", " and "dog" (1/1.1), each encoded on its own.
    expect(tokenizeWeighted(clip, 'a (cat:1.5), [dog]').chunks).toEqual([
      {
        ids: [CLIP_BOS, A_END, CAT, COMMA_END, DOG, CLIP_EOS, ...repeat(71, CLIP_EOS)],
        weights: [1, 1, 1 * 1.5, 1, 1 * (1 / 1.1), 1, ...repeat(71, 1)],
      },
    ]);
  });

  it('splits a word that emphasis splits, as A1111 does', () => {
    // "ca(t)": "ca" alone is c a</w> (the merge is "c a", not "c a</w>"), and "t" alone is t</w>.
    const [chunk] = tokenizeWeighted(clip, 'ca(t)').chunks;
    expect(chunk.ids.slice(0, 5)).toEqual([CLIP_BOS, C, A_END, T_END, CLIP_EOS]);
    expect(chunk.weights.slice(0, 5)).toEqual([1, 1, 1, 1.1, 1]);
  });

  it('backtracks to the comma token the tokenizer names', () => {
    // 70 × cat, the comma at position 70 (5 from the end), 7 × dog: as with the word tokenizer above.
    const result = tokenizeWeighted(clip, `${'cat '.repeat(70)}, ${'dog '.repeat(7)}`);
    expect(chunkIds(result)).toEqual([
      [CLIP_BOS, ...repeat(70, CAT), COMMA_END, CLIP_EOS, ...repeat(4, CLIP_EOS)],
      [CLIP_BOS, ...repeat(7, DOG), CLIP_EOS, ...repeat(68, CLIP_EOS)],
    ]);
    expect(result.tokenCount).toBe(78);
  });

  it('pads with id 0 when the model declares "!" as its pad token (SD 2.x)', () => {
    const sd2 = createClipTokenizer(tinyTokenizerFiles(MERGES, '!'));
    expect(chunkIds(tokenizeWeighted(sd2, 'cat BREAK dog'))).toEqual([
      [CLIP_BOS, CAT, CLIP_EOS, ...repeat(74, 0)],
      [CLIP_BOS, DOG, CLIP_EOS, ...repeat(74, 0)],
    ]);
  });
});

describe('tokenizeWeighted: textual-inversion embeddings (A1111 tokenize_line with find_embedding_at_position)', () => {
  // Ids past the vocabulary in name order: "a b" (2 vectors) takes EOS+1, EOS+2; "c" (3) the next three.
  const lookup = embeddingLookup(tokenizer, [
    { name: 'c', vectors: 3 },
    { name: 'a b', vectors: 2 },
  ]);

  it('puts the vectors where the name is, counts them as tokens and names what it used', () => {
    const result = tokenizeWeighted(tokenizer, 'w1 a b w2, c', { embeddings: lookup });
    expect(result.chunks[0].ids.slice(0, 9)).toEqual([
      BOS,
      1001,
      EOS + 1,
      EOS + 2,
      1002,
      COMMA,
      EOS + 3,
      EOS + 4,
      EOS + 5,
    ]);
    expect(result.chunks[0].ids[9]).toBe(EOS);
    expect(result.tokenCount).toBe(8);
    expect(result.embeddings).toEqual(['a b', 'c']);
  });

  it('reads a name as text when the model has no such embedding', () => {
    const result = tokenizeWeighted(tokenizer, 'w1 a b', {});
    expect(result.chunks[0].ids.slice(0, 5)).toEqual([BOS, 1001, WORD_IDS.a, WORD_IDS.b, EOS]);
    expect(result.embeddings).toEqual([]);
  });

  it('takes the longest name that matches, and the shorter one where the longer does not', () => {
    const both = embeddingLookup(tokenizer, [
      { name: 'a', vectors: 1 },
      { name: 'a b', vectors: 1 },
    ]);
    // Sorted: "a" → EOS+1, "a b" → EOS+2.
    const result = tokenizeWeighted(tokenizer, 'a b a c', { embeddings: both });
    expect(result.chunks[0].ids.slice(0, 5)).toEqual([BOS, EOS + 2, EOS + 1, WORD_IDS.c, EOS]);
  });

  it('gives the vectors the weight of the emphasis around the name', () => {
    const result = tokenizeWeighted(tokenizer, 'w1 (c:1.5)', { embeddings: lookup });
    expect(result.chunks[0].weights.slice(0, 6)).toEqual([1, 1, 1.5, 1.5, 1.5, 1]);
  });

  it('starts the next chunk with an embedding that does not fit in the rest of this one', () => {
    // 73 words then "c" (3 vectors): 73 + 3 > 75, so the first chunk closes with 73 tokens and padding.
    const result = tokenizeWeighted(tokenizer, `${words(1, 73)} c w74`, {
      embeddings: lookup,
      commaPaddingBacktrack: 0,
    });
    expect(chunkIds(result)).toEqual([
      [BOS, ...ids(1, 73), EOS, EOS, EOS],
      [BOS, EOS + 3, EOS + 4, EOS + 5, 1074, EOS, ...repeat(71, EOS)],
    ]);
    expect(result.tokenCount).toBe(77);
  });
});

// Prompt parsing and chunking inside workerd, the runtime the edge tokenizes in: the parser's
// Unicode-property and lookbehind patterns and the CLIP tokenizer run there unchanged.
import { describe, expect, it } from 'vitest';
import { parsePromptAttention } from '../src/prompt/parse-attention.ts';
import { tokenizeWeighted } from '../src/prompt/prompt-chunks.ts';
import { PromptTooLongError } from '../src/prompt/prompt-errors.ts';
import { createClipTokenizer } from '../src/tokenizer/tokenizer-files.ts';
import { tinyTokenizerFiles } from './support/tiny-vocab.ts';

describe('prompt syntax in workerd', () => {
  it('parses weights, Unicode word boundaries around BREAK and non-ASCII digits', () => {
    expect(parsePromptAttention('a ((b)) \u00e9BREAK BREAK (c:\u0661.\u0665)')).toEqual([
      { text: 'a ', weight: 1 },
      { text: 'b', weight: 1 * 1.1 * 1.1 },
      { text: ' \u00e9BREAK', weight: 1 },
      { text: 'BREAK', weight: -1 },
      { text: '', weight: 1 },
      { text: 'c', weight: 1.5 },
    ]);
  });

  it('chunks with the CLIP tokenizer and rejects a prompt past the chunk limit', () => {
    // Vocabulary: 512 byte tokens, then the merges ("cat</w>" is 513), then BOS 514 and EOS 515.
    const clip = createClipTokenizer(tinyTokenizerFiles(['c a', 'ca t</w>']));
    const result = tokenizeWeighted(clip, 'cat BREAK (cat)');
    expect(result.chunks.map((c) => c.ids.slice(0, 4))).toEqual([
      [514, 513, 515, 515],
      [514, 513, 515, 515],
    ]);
    expect(result.chunks[1].weights.slice(0, 3)).toEqual([1, 1.1, 1]);
    expect(() => tokenizeWeighted(clip, 'cat BREAK cat', { maxChunks: 1 })).toThrow(PromptTooLongError);
  });
});

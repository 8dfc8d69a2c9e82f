// A small CLIP-format vocabulary for tests: the 512 byte tokens, a few merges, the special tokens.
import { BYTE_CHARS_IN_VOCAB_ORDER } from '../../src/tokenizer/bytes-to-unicode.ts';
import type { TokenizerFiles } from '../../src/tokenizer/tokenizer-files.ts';

export function tinyTokenizerFiles(merges: readonly string[], padToken?: string): TokenizerFiles {
  const vocab: string[] = [...BYTE_CHARS_IN_VOCAB_ORDER, ...BYTE_CHARS_IN_VOCAB_ORDER.map((c) => `${c}</w>`)];
  for (const merge of merges) vocab.push(merge.replace(' ', ''));
  vocab.push('<|startoftext|>', '<|endoftext|>');
  return {
    vocabJson: JSON.stringify(Object.fromEntries(vocab.map((token, id) => [token, id]))),
    mergesTxt: `#version: 0.2\n${merges.join('\n')}\n`,
    specialTokensMapJson: padToken ? JSON.stringify({ pad_token: { content: padToken } }) : undefined,
    tokenizerConfigJson: JSON.stringify({ model_max_length: 77 }),
  };
}

// The CLIP tokenizer Stable Diffusion was trained with (openai/CLIP simple_tokenizer.py), exact on
// the reference cases: ftfy-style fixing, HTML unescape twice, whitespace folding, lowercasing, the
// CLIP pre-tokenization pattern, byte-to-unicode, BPE with `</w>`. No file system, no Node APIs:
// the same code runs in workerd and Node. Data comes from a model's `tokenizer/` files
// (`createClipTokenizer`) or from their precompiled form (`compiled-tokenizer.ts`).
import { bpe, buildMergeSlots, type MergeTable } from './bpe.ts';
import { BYTE_CHARS } from './bytes-to-unicode.ts';
import { fixText } from './fix-text.ts';
import { htmlUnescape } from './html-unescape.ts';
import type { TextTokenizer } from './text-tokenizer.ts';

export const START_OF_TEXT = '<|startoftext|>';
export const END_OF_TEXT = '<|endoftext|>';

/** Everything a tokenizer needs, in the form both loaders produce. */
export interface ClipTokenizerData {
  vocabSize: number;
  /** Per byte: id of its character, then (offset 256) id of its character + `</w>`. */
  byteIds: Uint32Array;
  /** Merge triples (left id, right id, merged id) in rank order. */
  merges: Uint32Array;
  /** The merges' hash slots (bpe.ts), when precompiled; built on load otherwise. */
  mergeSlots?: Uint32Array;
  bos: number;
  eos: number;
  pad: number;
  maxLength: number;
  /** The vocabulary in id order; only needed to show tokens, so it may be produced lazily. */
  vocab: () => readonly string[];
}

// simple_tokenizer.py's pattern (IGNORECASE), with `\s` spelled as Unicode White_Space, which is
// what the `regex` module means by it (JS's `\s` also matches U+FEFF).
const PIECES =
  /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\p{White_Space}\p{L}\p{N}]+/giu;
const WHITESPACE = /\p{White_Space}+/gu;
const EDGE_WHITESPACE = /^\p{White_Space}+|\p{White_Space}+$/gu;
const WORD_CACHE_LIMIT = 20_000;

// Printable ASCII without `&` is left unchanged by every ftfy fix and by html.unescape.
const PLAIN_ASCII = /^[\x20-\x25\x27-\x7e]*$/;

/** `whitespace_clean(basic_clean(text)).lower()` of simple_tokenizer.py. */
export function cleanText(text: string): string {
  if (PLAIN_ASCII.test(text)) return text.trim().replace(/ {2,}/g, ' ').toLowerCase();
  const unescaped = htmlUnescape(htmlUnescape(fixText(text)));
  return unescaped.replace(EDGE_WHITESPACE, '').replace(WHITESPACE, ' ').toLowerCase();
}

const utf8 = new TextEncoder();

export class ClipTokenizer implements TextTokenizer {
  readonly bos: number;
  readonly eos: number;
  readonly pad: number;
  readonly maxLength: number;
  readonly vocabSize: number;
  private readonly byteIds: Uint32Array;
  private readonly table: MergeTable;
  private readonly wordCache = new Map<string, readonly number[]>();
  private readonly vocabSource: () => readonly string[];
  private tokenIds: Map<string, number> | undefined;

  constructor(data: ClipTokenizerData) {
    this.bos = data.bos;
    this.eos = data.eos;
    this.pad = data.pad;
    this.maxLength = data.maxLength;
    this.vocabSize = data.vocabSize;
    this.byteIds = data.byteIds;
    this.table = { merges: data.merges, slots: data.mergeSlots ?? buildMergeSlots(data.merges) };
    this.vocabSource = data.vocab;
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    for (const [piece] of cleanText(text).matchAll(PIECES)) {
      if (piece === START_OF_TEXT) ids.push(this.bos);
      else if (piece === END_OF_TEXT) ids.push(this.eos);
      else for (const id of this.encodeWord(piece)) ids.push(id);
    }
    return ids;
  }

  private encodeWord(piece: string): readonly number[] {
    const cached = this.wordCache.get(piece);
    if (cached) return cached;
    const bytes = utf8.encode(piece);
    const word = Array.from(bytes, (b) => this.byteIds[b]);
    word[word.length - 1] = this.byteIds[256 + bytes[bytes.length - 1]];
    const ids = bpe(word, this.table);
    if (this.wordCache.size >= WORD_CACHE_LIMIT) this.wordCache.clear();
    this.wordCache.set(piece, ids);
    return ids;
  }

  tokenToId(token: string): number | undefined {
    // Single byte characters, with or without `</w>`, are answered without loading the vocabulary.
    const bare = token.endsWith('</w>') ? token.slice(0, -4) : token;
    const byte = bare.length === 1 ? BYTE_CHARS.indexOf(bare) : -1;
    if (byte >= 0) return this.byteIds[(bare === token ? 0 : 256) + byte];
    if (!this.tokenIds) this.tokenIds = new Map(this.vocabSource().map((t, id) => [t, id]));
    return this.tokenIds.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.vocabSource()[id];
  }
}

/** The 77 model input ids: BOS, the first maxLength-2 tokens, EOS, then padding. */
export function toModelInput(tokenizer: TextTokenizer, tokens: readonly number[]): number[] {
  const ids = [tokenizer.bos, ...tokens.slice(0, tokenizer.maxLength - 2), tokenizer.eos];
  while (ids.length < tokenizer.maxLength) ids.push(tokenizer.pad);
  return ids;
}

// A weighted prompt as model-ready chunks, after AUTOMATIC1111's `tokenize_line` in
// stable-diffusion-webui modules/sd_hijack_clip.py (commit 00e09382). Each emphasis fragment is
// encoded on its own and its tokens take its weight. Tokens fill chunks of 75 (maxLength - 2); when a
// chunk is full and a comma was among its last 20 tokens, the tokens after the comma move to the next
// chunk; BREAK closes the chunk. Each chunk becomes BOS + tokens + EOS + padding = 77 ids, and BOS,
// EOS and padding weigh 1. The text encoder runs once per chunk; emphasis is applied to its output.
// A textual-inversion embedding's name becomes its vector ids (prompt-embeddings.ts), and an
// embedding that would not fit in the chunk's rest starts the next one, so its vectors stay together.

import { LIMITS } from '../protocol/limits.ts';
import type { TextTokenizer } from '../tokenizer/text-tokenizer.ts';
import { isBreakMarker, parsePromptAttention, type WeightedText } from './parse-attention.ts';
import type { EmbeddingLookup } from './prompt-embeddings.ts';
import { PromptTooLongError, PromptWeightRangeError } from './prompt-errors.ts';

/**
 * Chunks a prompt may take unless told otherwise: the API's limit (3 × 75 = 225 tokens), so a prompt
 * that tokenizes here also fits the job schema. A1111 itself has no limit.
 */
export const DEFAULT_MAX_CHUNKS: number = LIMITS.maxPromptChunks;

/** A1111's `comma_padding_backtrack` default: how near the end of a full chunk a comma may be. */
export const DEFAULT_COMMA_PADDING_BACKTRACK = 20;

export interface PromptChunk {
  /** `tokenizer.maxLength` ids: BOS, the chunk's tokens, EOS, then `tokenizer.pad`. */
  ids: number[];
  /** Emphasis multiplier per id; 1 for BOS, EOS and padding. */
  weights: number[];
}

export interface WeightedTokens {
  chunks: PromptChunk[];
  /**
   * Prompt tokens, without BOS, EOS or padding. A1111's on-screen counter differs after BREAK or a
   * comma backtrack: it counts every chunk but the last as a full 75.
   */
  tokenCount: number;
  chunkCount: number;
  /** Names of the embeddings the prompt used, in order of first use. */
  embeddings: string[];
}

export interface TokenizeWeightedOptions {
  /** Most chunks allowed; more throws PromptTooLongError. Default DEFAULT_MAX_CHUNKS. */
  maxChunks?: number;
  /** Tokens from the end of a full chunk within which a comma moves the rest on; 0 turns it off. */
  commaPaddingBacktrack?: number;
  /** Request field named in errors. Default `prompt`. */
  field?: string;
  /** The model's textual-inversion embeddings; none when absent. */
  embeddings?: EmbeddingLookup;
}

/**
 * Parses A1111 emphasis syntax in `prompt` and returns its chunks with a weight per id. Throws a
 * PromptError for the user: PromptWeightError for `(word:1.2.3)`, PromptWeightRangeError for a
 * weight outside ±LIMITS.maxAttentionWeight (the job schema's bound), PromptTooLongError past maxChunks.
 */
export function tokenizeWeighted(
  tokenizer: TextTokenizer,
  prompt: string,
  options: TokenizeWeightedOptions = {},
): WeightedTokens {
  const {
    maxChunks = DEFAULT_MAX_CHUNKS,
    commaPaddingBacktrack = DEFAULT_COMMA_PADDING_BACKTRACK,
    field = 'prompt',
    embeddings,
  } = options;
  const chunkLength = tokenizer.maxLength - 2;
  const commaToken = tokenizer.tokenToId(',</w>');

  const chunks: PromptChunk[] = [];
  let tokens: number[] = [];
  let weights: number[] = [];
  let tokenCount = 0;
  let lastComma = -1;
  const used = new Set<string>();

  const closeChunk = () => {
    chunks.push(toChunk(tokenizer, tokens, weights));
    tokenCount += tokens.length;
    tokens = [];
    weights = [];
    lastComma = -1;
  };

  for (const fragment of parsePromptAttention(prompt)) {
    if (isBreakMarker(fragment)) {
      closeChunk();
      continue;
    }
    checkWeight(field, fragment);
    const fragmentTokens = tokenizer.encode(fragment.text);
    let position = 0;
    while (position < fragmentTokens.length) {
      const token = fragmentTokens[position];
      // Same order as A1111: a comma arriving at a full chunk is recorded, then reset by closeChunk,
      // so it opens the next chunk without counting as that chunk's comma.
      if (token === commaToken) {
        lastComma = tokens.length;
      } else if (
        commaPaddingBacktrack !== 0 &&
        tokens.length === chunkLength &&
        lastComma !== -1 &&
        tokens.length - lastComma <= commaPaddingBacktrack
      ) {
        const moved = tokens.splice(lastComma + 1);
        const movedWeights = weights.splice(lastComma + 1);
        closeChunk();
        tokens = moved;
        weights = movedWeights;
      }
      // A chunk closes when the next token arrives, so exactly 75 tokens stay one chunk.
      if (tokens.length === chunkLength) closeChunk();
      const match = embeddings?.find(fragmentTokens, position);
      if (!match) {
        tokens.push(token);
        weights.push(fragment.weight);
        position += 1;
        continue;
      }
      if (tokens.length + match.ids.length > chunkLength) closeChunk();
      tokens.push(...match.ids);
      weights.push(...match.ids.map(() => fragment.weight));
      used.add(match.name);
      position += match.length;
    }
  }
  // A trailing BREAK adds no empty chunk, but an empty prompt is one chunk.
  if (tokens.length > 0 || chunks.length === 0) closeChunk();

  if (chunks.length > maxChunks) {
    throw new PromptTooLongError(field, tokenCount, chunks.length, maxChunks, chunkLength);
  }
  return { chunks, tokenCount, chunkCount: chunks.length, embeddings: [...used] };
}

// A1111 takes any weight; the job schema does not, so refuse here, where the field is known. Written
// so that NaN is refused too: `((a:0):999…)` with 400 nines is 0 × Infinity.
function checkWeight(field: string, { text, weight }: WeightedText): void {
  const limit = LIMITS.maxAttentionWeight;
  if (!(weight >= -limit && weight <= limit)) throw new PromptWeightRangeError(field, weight, text, limit);
}

// A1111 pads with EOS (`id_end`) and, when the model's pad id differs (SD 2.x, pad `!` = 0), replaces
// every id after the first EOS with it. EOS straight after the tokens, then `tokenizer.pad`, is the
// same sequence for both, and what the model's own tokenizer produces with padding="max_length".
function toChunk(tokenizer: TextTokenizer, tokens: number[], weights: number[]): PromptChunk {
  const padding = tokenizer.maxLength - 2 - tokens.length;
  return {
    ids: [tokenizer.bos, ...tokens, tokenizer.eos, ...new Array<number>(padding).fill(tokenizer.pad)],
    weights: [1, ...weights, 1, ...new Array<number>(padding).fill(1)],
  };
}

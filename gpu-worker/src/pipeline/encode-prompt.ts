// Step 1 of the recipe: prompt chunks → encoder_hidden_states, through the text encoder cache,
// or straight from embeddings the caller already has (the edge caches them per prompt).
import type { DiffusionModel } from '../model/diffusion-model.ts';
import { embedPrompt, padToChunks, type WeightedChunk } from './prompt-embeddings.ts';
import { TextEncoderCache } from './text-encoder-cache.ts';

export interface PromptSource {
  chunks: readonly WeightedChunk[];
  /** Weighted hidden states [chunks × length, hidden] computed earlier; skips the encoder. */
  embedding?: Float32Array;
}

export interface EncodedPrompts {
  cond: Float32Array;
  /** Present only when guidance is used. */
  uncond?: Float32Array;
  sequenceLength: number;
  /** True when no text encoder call was needed for either prompt. */
  fromCache: boolean;
  /** The (unpadded) embeddings, for the caller to cache. */
  promptEmbedding: Float32Array;
  negativeEmbedding?: Float32Array;
}

/** Encodes the chunks whose outputs are not cached, in one batched call, and fills the cache. */
function cachedEncoder(model: DiffusionModel, cache: TextEncoderCache, counter: { calls: number }) {
  return async (chunks: readonly WeightedChunk[]): Promise<Float32Array> => {
    const keys = chunks.map((c) => TextEncoderCache.key(model.revision, c.ids));
    const found = keys.map((k) => cache.get(k));
    const missing = chunks.filter((_, i) => !found[i]);
    if (missing.length > 0) {
      counter.calls++;
      const encoded = await model.encodeText(
        missing.flatMap((c) => c.ids),
        missing.length,
      );
      const size = encoded.length / missing.length;
      let m = 0;
      found.forEach((value, i) => {
        if (!value) {
          found[i] = encoded.slice(m * size, ++m * size);
          cache.set(keys[i], found[i] as Float32Array);
        }
      });
    }
    const size = (found[0] as Float32Array).length;
    const out = new Float32Array(size * chunks.length);
    for (const [i, value] of found.entries()) out.set(value as Float32Array, i * size);
    return out;
  };
}

export async function encodePrompts(
  model: DiffusionModel,
  prompt: PromptSource,
  negative: PromptSource,
  guided: boolean,
  cache: TextEncoderCache,
): Promise<EncodedPrompts> {
  const counter = { calls: 0 };
  const encode = cachedEncoder(model, cache, counter);
  const length = model.tokenizer.maxLength;
  const hidden = model.spec.hiddenSize;
  const chunkSize = length * hidden;
  const promptEmbedding = prompt.embedding ?? (await embedPrompt(prompt.chunks, encode));
  if (promptEmbedding.length % chunkSize !== 0) {
    throw new RangeError(
      `prompt embedding has ${promptEmbedding.length} values; expected a multiple of ${length}×${hidden}`,
    );
  }
  if (!guided) {
    return {
      cond: promptEmbedding,
      sequenceLength: promptEmbedding.length / hidden,
      fromCache: counter.calls === 0,
      promptEmbedding,
    };
  }
  const negativeEmbedding = negative.embedding ?? (await embedPrompt(negative.chunks, encode));
  if (negativeEmbedding.length % chunkSize !== 0) {
    throw new RangeError(
      `negative prompt embedding has ${negativeEmbedding.length} values; expected a multiple of ${length}×${hidden}`,
    );
  }
  const chunks = Math.max(promptEmbedding.length, negativeEmbedding.length) / chunkSize;
  let cond = promptEmbedding;
  let uncond = negativeEmbedding;
  if (promptEmbedding.length !== negativeEmbedding.length) {
    const tokenizer = model.tokenizer;
    const emptyIds = [tokenizer.bos, tokenizer.eos, ...new Array(length - 2).fill(tokenizer.pad)];
    const empty = await encode([{ ids: emptyIds, weights: new Array(length).fill(1) }]);
    cond = padToChunks(cond, chunks, empty);
    uncond = padToChunks(uncond, chunks, empty);
  }
  return {
    cond,
    uncond,
    sequenceLength: cond.length / hidden,
    fromCache: counter.calls === 0,
    promptEmbedding,
    negativeEmbedding,
  };
}

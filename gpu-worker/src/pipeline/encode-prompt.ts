// Step 1 of the recipe: prompt chunks → encoder_hidden_states (and SDXL's pooled prompt embedding),
// through the text encoder cache, or straight from embeddings the caller already has (the edge
// caches them per prompt).
import type { ClipTokenizer } from '@latent-edge/shared/tokenizer/clip-tokenizer';
import type { DiffusionModel } from '../model/diffusion-model.ts';
import { concatFeatures, padToChunks, type WeightedChunk, weightChunks } from './prompt-embeddings.ts';
import { TextEncoderCache } from './text-encoder-cache.ts';

export interface PromptSource {
  chunks: readonly WeightedChunk[];
  /** The same prompt tokenized for the second text encoder (SDXL), one chunk per chunk. */
  chunks2?: readonly WeightedChunk[];
  /**
   * Weighted hidden states [chunks × length, hidden] computed earlier, followed by the pooled
   * embedding's values for models that have one (SDXL); skips the text encoders.
   */
  embedding?: Float32Array;
}

export interface EncodedPrompts {
  cond: Float32Array;
  /** Present only when guided. */
  uncond?: Float32Array;
  /** SDXL's pooled prompt embedding (the UNet's `text_embeds`), and the negative one when guided. */
  condPooled?: Float32Array;
  uncondPooled?: Float32Array;
  sequenceLength: number;
  /** True when no text encoder call was needed for either prompt. */
  fromCache: boolean;
  /** The (unpadded) embeddings, hidden states then pooled values, for the caller to cache. */
  promptEmbedding: Float32Array;
  negativeEmbedding?: Float32Array;
}

interface Embedded {
  hidden: Float32Array;
  pooled?: Float32Array;
}

type ChunkEncoder = (chunks: readonly WeightedChunk[]) => Promise<Embedded>;

/**
 * Cache keys of the first encoder are the revision's own, so one-encoder models keep theirs; a
 * LoRA set that changes the text encoders has its own (one that changes only the UNet shares the
 * base model's).
 */
function cacheScope(model: DiffusionModel, encoder: number): string {
  const scope = encoder === 0 ? model.revision : `${model.revision}#${encoder + 1}`;
  return model.variant?.textKey ? `${scope}+lora:${model.variant.textKey}` : scope;
}

/**
 * One encoder's raw outputs for chunks: the chunks whose outputs are not cached are encoded in one
 * batched call. The pooled embedding is the first chunk's (A1111 `sd_hijack_clip.py`: `zs[0].pooled`).
 */
function cachedEncoder(
  model: DiffusionModel,
  index: number,
  cache: TextEncoderCache,
  counter: { calls: number },
): ChunkEncoder {
  const encoder = model.textEncoders[index];
  const pooledSize = encoder.spec.pooledOutput ? encoder.spec.pooledSize : 0;
  return async (chunks) => {
    const keys = chunks.map((c) => TextEncoderCache.key(cacheScope(model, index), c.ids));
    const found = keys.map((k) => cache.get(k));
    const missing = chunks.filter((_, i) => !found[i]);
    if (missing.length > 0) {
      counter.calls++;
      const { hidden, pooled } = await encoder.encode(
        missing.flatMap((c) => c.ids),
        missing.length,
      );
      const size = hidden.length / missing.length;
      let m = 0;
      found.forEach((value, i) => {
        if (value) return;
        // Cached as hidden states then pooled values, like the embeddings the edge keeps.
        const entry = new Float32Array(size + pooledSize);
        entry.set(hidden.subarray(m * size, (m + 1) * size));
        if (pooled) entry.set(pooled.subarray(m * pooledSize, (m + 1) * pooledSize), size);
        found[i] = entry;
        cache.set(keys[i], entry);
        m++;
      });
    }
    const size = (found[0] as Float32Array).length - pooledSize;
    const hidden = new Float32Array(size * chunks.length);
    for (const [i, value] of found.entries()) hidden.set((value as Float32Array).subarray(0, size), i * size);
    return { hidden, pooled: pooledSize ? (found[0] as Float32Array).slice(size) : undefined };
  };
}

/** Weighted hidden states of every encoder, joined along the features, and the pooled embedding. */
async function embedText(
  model: DiffusionModel,
  source: PromptSource,
  encoders: readonly ChunkEncoder[],
): Promise<Embedded> {
  const parts: Float32Array[] = [];
  let pooled: Float32Array | undefined;
  for (const [i, encode] of encoders.entries()) {
    const chunks = i === 0 ? source.chunks : source.chunks2;
    if (!chunks) throw new RangeError('this model has two text encoders: chunks for the second are missing');
    const raw = await encode(chunks);
    parts.push(weightChunks(raw.hidden, chunks));
    pooled ??= raw.pooled;
  }
  const widths = model.textEncoders.map((e) => e.spec.hiddenSize);
  return { hidden: concatFeatures(parts, widths), pooled };
}

/** Splits an embedding the caller supplied into hidden states and pooled values, checking its size. */
function splitEmbedding(model: DiffusionModel, embedding: Float32Array, what: string): Embedded {
  const { hiddenSize, pooledSize } = model.spec;
  const chunkSize = model.tokenizer.maxLength * hiddenSize;
  const hiddenLength = embedding.length - pooledSize;
  if (hiddenLength <= 0 || hiddenLength % chunkSize !== 0) {
    throw new RangeError(
      `${what} embedding has ${embedding.length} values; expected a multiple of ${model.tokenizer.maxLength}×${hiddenSize}${pooledSize ? ` plus ${pooledSize} pooled values` : ''}`,
    );
  }
  return {
    hidden: embedding.subarray(0, hiddenLength),
    pooled: pooledSize ? embedding.subarray(hiddenLength) : undefined,
  };
}

function joinEmbedding({ hidden, pooled }: Embedded): Float32Array {
  if (!pooled) return hidden;
  const out = new Float32Array(hidden.length + pooled.length);
  out.set(hidden);
  out.set(pooled, hidden.length);
  return out;
}

function emptyChunk(tokenizer: ClipTokenizer): WeightedChunk {
  const length = tokenizer.maxLength;
  return {
    ids: [tokenizer.bos, tokenizer.eos, ...new Array(length - 2).fill(tokenizer.pad)],
    weights: new Array(length).fill(1),
  };
}

/** A prompt with no tokens: one chunk that is BOS, EOS and padding. */
export function isEmptyPrompt(source: PromptSource, tokenizer: ClipTokenizer): boolean {
  const [chunk] = source.chunks;
  return source.chunks.length === 1 && chunk.ids[0] === tokenizer.bos && chunk.ids[1] === tokenizer.eos;
}

export async function encodePrompts(
  model: DiffusionModel,
  prompt: PromptSource,
  negative: PromptSource,
  guided: boolean,
  cache: TextEncoderCache,
): Promise<EncodedPrompts> {
  const counter = { calls: 0 };
  const encoders = model.textEncoders.map((_, i) => cachedEncoder(model, i, cache, counter));
  const hidden = model.spec.hiddenSize;
  const encoded = prompt.embedding
    ? splitEmbedding(model, prompt.embedding, 'prompt')
    : await embedText(model, prompt, encoders);
  const promptEmbedding = prompt.embedding ?? joinEmbedding(encoded);
  if (!guided) {
    return {
      cond: encoded.hidden,
      condPooled: encoded.pooled,
      sequenceLength: encoded.hidden.length / hidden,
      fromCache: counter.calls === 0,
      promptEmbedding,
    };
  }

  // SDXL conditions an empty negative prompt on zeros (diffusers `force_zeros_for_empty_prompt`).
  if (model.folder.forceZerosForEmptyPrompt && isEmptyPrompt(negative, model.tokenizer)) {
    return {
      cond: encoded.hidden,
      uncond: new Float32Array(encoded.hidden.length),
      condPooled: encoded.pooled,
      uncondPooled: encoded.pooled && new Float32Array(encoded.pooled.length),
      sequenceLength: encoded.hidden.length / hidden,
      fromCache: counter.calls === 0,
      promptEmbedding,
    };
  }

  const negativeEncoded = negative.embedding
    ? splitEmbedding(model, negative.embedding, 'negative prompt')
    : await embedText(model, negative, encoders);
  const negativeEmbedding = negative.embedding ?? joinEmbedding(negativeEncoded);
  let cond = encoded.hidden;
  let uncond = negativeEncoded.hidden;
  if (cond.length !== uncond.length) {
    const chunkSize = model.tokenizer.maxLength * hidden;
    const chunks = Math.max(cond.length, uncond.length) / chunkSize;
    const empty = await embedText(
      model,
      {
        chunks: [emptyChunk(model.tokenizer)],
        chunks2: model.textEncoders[1] && [emptyChunk(model.textEncoders[1].tokenizer)],
      },
      encoders,
    );
    cond = padToChunks(cond, chunks, empty.hidden);
    uncond = padToChunks(uncond, chunks, empty.hidden);
  }
  return {
    cond,
    uncond,
    condPooled: encoded.pooled,
    uncondPooled: negativeEncoded.pooled,
    sequenceLength: cond.length / hidden,
    fromCache: counter.calls === 0,
    promptEmbedding,
    negativeEmbedding,
  };
}

// The result cache's key: a keyed hash (HMAC with a server secret, so nobody can probe whether a
// prompt was ever generated) of the canonical form of everything that decides an image's pixels.
// Built from token ids rather than prompt text, so prompts that tokenize identically share a key.
import { hmacSha256Hex } from './hmac.ts';

/** Bumped whenever the pipeline would produce different pixels for the same inputs. */
export const PIPELINE_VERSION = 1;

export interface WeightedChunk {
  ids: readonly number[];
  weights: readonly number[];
}

/** Everything that decides one image: one seed, not a batch. */
export interface ImageIdentity {
  model: string;
  revision: string;
  prompt: readonly WeightedChunk[];
  negativePrompt: readonly WeightedChunk[];
  /** A second text encoder's chunks (SDXL); absent for one-encoder models, so their keys stay as they were. */
  prompt2?: readonly WeightedChunk[];
  negativePrompt2?: readonly WeightedChunk[];
  width: number;
  height: number;
  steps: number;
  guidanceScale: number;
  guidanceRescale: number;
  scheduler: string;
  seed: number;
  outputFormat: string;
  /** img2img only: SHA-256 of the init image bytes, and the strength. */
  initImageSha256?: string;
  strength?: number;
  /** Inpainting only: SHA-256 of the mask bytes and how it is read; absent otherwise, so keys stay as they were. */
  inpaint?: {
    maskSha256: string;
    source: string;
    invert: boolean;
    blur: number;
    maskedContent: string;
    onlyMasked: boolean;
    onlyMaskedPadding: number;
  };
  /** Outpainting only: pixels added per side. */
  outpaint?: { left: number; right: number; top: number; bottom: number };
  /** LoRAs merged in, by file hash and weight in name order; absent when none, so keys stay as they were. */
  loras?: readonly { sha256: string; weight: number }[];
  /** Made without the image safety checker; absent when filtered, so keys stay as they were. */
  unfiltered?: true;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** JSON with object keys sorted at every level, so key order never changes the bytes. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value as Json));
}

function sortKeys(value: Json): Json {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const sorted: { [key: string]: Json } = {};
    for (const key of Object.keys(value).sort()) {
      if (value[key] !== undefined) sorted[key] = sortKeys(value[key]);
    }
    return sorted;
  }
  return value;
}

/** The pipeline applies weights as float32, so weights equal in float32 make the same image. */
function normalizeChunks(chunks: readonly WeightedChunk[]): WeightedChunk[] {
  return chunks.map(({ ids, weights }) => ({ ids: [...ids], weights: weights.map((w) => Math.fround(w)) }));
}

export function imageCacheKey(secret: string, image: ImageIdentity): Promise<string> {
  const canonical = canonicalJson({
    v: PIPELINE_VERSION,
    ...image,
    prompt: normalizeChunks(image.prompt),
    negativePrompt: normalizeChunks(image.negativePrompt),
    prompt2: image.prompt2 && normalizeChunks(image.prompt2),
    negativePrompt2: image.negativePrompt2 && normalizeChunks(image.negativePrompt2),
  });
  return hmacSha256Hex(secret, canonical);
}

// Prompt chunks → the UNet's `encoder_hidden_states`, the AUTOMATIC1111 way
// (`modules/sd_hijack_clip.py: process_tokens`): each 77-token chunk is encoded alone, every
// token's embedding is multiplied by its weight, then the chunk is rescaled so its mean equals the
// unweighted mean; chunks are concatenated along the sequence axis (77·k tokens).

export interface WeightedChunk {
  ids: readonly number[];
  weights: readonly number[];
}

/** Encodes chunks (ids only) to raw hidden states [chunks, length, hidden]. */
export type ChunkEncoder = (chunks: readonly WeightedChunk[]) => Promise<Float32Array>;

function mean(values: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return sum / values.length;
}

/** Applies weights to one chunk's hidden states [length, hidden] in place, restoring the mean. */
export function applyEmphasis(hidden: Float32Array, weights: readonly number[]): void {
  const width = hidden.length / weights.length;
  if (weights.every((w) => w === 1)) return;
  const originalMean = mean(hidden);
  for (let t = 0; t < weights.length; t++) {
    const w = Math.fround(weights[t]);
    for (let j = t * width; j < (t + 1) * width; j++) hidden[j] *= w;
  }
  const scale = originalMean / mean(hidden);
  for (let j = 0; j < hidden.length; j++) hidden[j] *= scale;
}

/** Weighted, concatenated hidden states for a prompt: [chunks × length, hidden], flattened. */
export async function embedPrompt(
  chunks: readonly WeightedChunk[],
  encode: ChunkEncoder,
): Promise<Float32Array> {
  const raw = await encode(chunks);
  const perChunk = raw.length / chunks.length;
  const out = new Float32Array(raw);
  for (const [c, chunk] of chunks.entries()) {
    applyEmphasis(out.subarray(c * perChunk, (c + 1) * perChunk), chunk.weights);
  }
  return out;
}

/**
 * Cond and uncond must have equal sequence length to share a UNet batch; the shorter is extended
 * with copies of its encoded empty chunk, as A1111 does when prompt and negative differ in length.
 */
export function padToChunks(embedding: Float32Array, chunks: number, emptyChunk: Float32Array): Float32Array {
  const have = embedding.length / emptyChunk.length;
  if (have >= chunks) return embedding;
  const out = new Float32Array(chunks * emptyChunk.length);
  out.set(embedding);
  for (let c = have; c < chunks; c++) out.set(emptyChunk, c * emptyChunk.length);
  return out;
}

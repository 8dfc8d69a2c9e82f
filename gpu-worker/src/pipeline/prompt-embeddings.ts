// Prompt chunks → the UNet's `encoder_hidden_states`, the AUTOMATIC1111 way
// (`modules/sd_hijack_clip.py: process_tokens`): each 77-token chunk is encoded alone, every
// token's embedding is multiplied by its weight, then the chunk is rescaled so its mean equals the
// unweighted mean; chunks are concatenated along the sequence axis (77·k tokens). With two text
// encoders (SDXL) each encoder's output is weighted on its own (A1111 hijacks both embedders),
// then the two are joined along the feature axis (768 + 1280 = 2048 for SDXL).

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
  return weightChunks(await encode(chunks), chunks);
}

/** A weighted copy of raw hidden states [chunks × length, hidden], emphasis applied per chunk. */
export function weightChunks(raw: Float32Array, chunks: readonly WeightedChunk[]): Float32Array {
  const perChunk = raw.length / chunks.length;
  const out = new Float32Array(raw);
  for (const [c, chunk] of chunks.entries()) {
    applyEmphasis(out.subarray(c * perChunk, (c + 1) * perChunk), chunk.weights);
  }
  return out;
}

/** Joins per-encoder hidden states [rows, width_i] along the feature axis → [rows, Σ width_i]. */
export function concatFeatures(parts: readonly Float32Array[], widths: readonly number[]): Float32Array {
  if (parts.length === 1) return parts[0];
  const total = widths.reduce((n, w) => n + w, 0);
  const rows = parts[0].length / widths[0];
  const out = new Float32Array(rows * total);
  for (let r = 0; r < rows; r++) {
    let at = r * total;
    for (const [i, part] of parts.entries()) {
      out.set(part.subarray(r * widths[i], (r + 1) * widths[i]), at);
      at += widths[i];
    }
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

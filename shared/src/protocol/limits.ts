// Hard limits of the public API, whatever the model. Each served model narrows them further
// (its own maximum size and steps) in the edge's model configuration.

export const LIMITS = {
  /** Characters in a prompt or negative prompt (the token limit is checked after tokenizing). */
  promptChars: 4000,
  /** Width and height: multiples of 8 (the VAE's factor) within these bounds. */
  minSize: 64,
  maxSize: 2048,
  sizeMultiple: 8,
  maxSteps: 150,
  maxGuidanceScale: 30,
  /** Images per request. */
  maxImages: 8,
  /** Largest seed: the largest integer a JSON number carries exactly. */
  maxSeed: Number.MAX_SAFE_INTEGER,
  /** Decoded init image size for img2img. */
  maxInitImageBytes: 8 * 1024 * 1024,
  /**
   * Pixels of an init image or mask, read from its header at the edge and enforced again by the
   * gpu-worker's decoder: (2 × maxSize)², twice the largest side any model makes in each
   * direction. A 12-megapixel phone photo fits; a small file claiming a huge picture (a
   * decompression bomb) is refused before anything is decoded or stored.
   */
  maxInitImagePixels: 4 * 2048 * 2048,
  /** Long prompts are split into 75-token chunks; this many at most (225 tokens; A1111 has no limit). */
  maxPromptChunks: 3,
  /**
   * Largest attention weight of either sign, as applied: `(word:10)`, or nested brackets multiplied
   * out (25 × `( )` is 1.1^25 ≈ 10.83, past it). A1111 has no limit; this one keeps typos such as
   * `(word:100)` from reaching the text encoder.
   */
  maxAttentionWeight: 10,
  /** LoRAs in one request, and the largest weight of either sign (A1111 has no limit; past ±4 images are noise). */
  maxLoras: 5,
  maxLoraWeight: 4,
} as const;

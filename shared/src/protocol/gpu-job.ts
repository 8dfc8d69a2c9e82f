// The edge → gpu-worker job and its result, carried in an envelope (envelope.ts): the JSON head is
// validated by these schemas; binary parts carry cached embeddings, an init image, and the images.
import { z } from 'zod';
import { SCHEDULER_NAMES } from '../scheduler-names.ts';
import {
  MASK_SOURCES,
  MASKED_CONTENT,
  MAX_MASK_BLUR,
  MAX_ONLY_MASKED_PADDING,
  OUTPUT_FORMATS,
} from './generation-request.ts';
import { LIMITS } from './limits.ts';

const tokenId = z.int().min(0).max(0xffffff);

/** One text-encoder input: maxLength ids (BOS … EOS, padding) and a weight per id. */
export const WeightedChunk = z
  .strictObject({
    ids: z.array(tokenId).min(2).max(512),
    weights: z.array(z.number().min(-LIMITS.maxAttentionWeight).max(LIMITS.maxAttentionWeight)),
  })
  .refine((c) => c.ids.length === c.weights.length, { error: 'ids and weights differ in length' });

const Chunks = z.array(WeightedChunk).min(1).max(LIMITS.maxPromptChunks);

/**
 * A prompt as the edge tokenized it. `chunks` feed the text encoder; `chunks_2` the second text
 * encoder of a two-encoder model (SDXL), tokenized with that encoder's own tokenizer (its pad id
 * differs), one chunk for each of `chunks`. `embedding` names a part holding the encoder output the
 * edge had cached: float32 [chunks × maxLength × hidden] with weights applied, then, for models
 * with a pooled text embedding (SDXL), its `pooled` values.
 */
export const PromptInput = z
  .strictObject({
    chunks: Chunks,
    chunks_2: Chunks.optional(),
    embedding: z.string().max(40).optional(),
  })
  .refine(
    (p) =>
      p.chunks_2 === undefined ||
      (p.chunks_2.length === p.chunks.length &&
        p.chunks_2.every((c, i) => c.ids.length === p.chunks[i].ids.length)),
    { error: 'chunks_2 must have one chunk of the same length for each of chunks', path: ['chunks_2'] },
  );

/**
 * A LoRA merged into the model for this job, by its file's name in the model's `loras/` folder.
 * `sha256`, when given, must be the worker's file's, so an edge and a worker that disagree about
 * a file never serve each other's images under one cache key.
 */
export const LoraChoiceInput = z.strictObject({
  name: z.string().min(1).max(100),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/, { error: 'a SHA-256 in lowercase hex' })
    .optional(),
  weight: z.number().min(-LIMITS.maxLoraWeight).max(LIMITS.maxLoraWeight),
});

export const GpuJob = z.strictObject({
  job_id: z.string().min(1).max(100),
  model: z.string().min(1).max(100),
  /** When given, must equal the worker's revision of the model, so no stale weights answer. */
  revision: z.string().max(100).optional(),
  prompt: PromptInput,
  negative_prompt: PromptInput,
  width: z.int().min(LIMITS.minSize).max(LIMITS.maxSize),
  height: z.int().min(LIMITS.minSize).max(LIMITS.maxSize),
  steps: z.int().min(1).max(LIMITS.maxSteps),
  guidance_scale: z.number().min(0).max(LIMITS.maxGuidanceScale),
  guidance_rescale: z.number().min(0).max(1).default(0),
  scheduler: z.enum(SCHEDULER_NAMES),
  /** One image per seed. */
  seeds: z.array(z.int().min(0).max(LIMITS.maxSeed)).min(1).max(LIMITS.maxImages),
  output_format: z.enum(OUTPUT_FORMATS).default('png'),
  /** img2img: the part holding the init image, and the strength. */
  init_image: z.string().max(40).optional(),
  strength: z.number().gt(0).max(1).optional(),
  /** Inpainting (needs init_image): the part holding the mask, and how to read and use it. */
  inpaint: z
    .strictObject({
      mask: z.string().max(40),
      source: z.enum(MASK_SOURCES),
      invert: z.boolean(),
      blur: z.number().min(0).max(MAX_MASK_BLUR),
      masked_content: z.enum(MASKED_CONTENT),
      only_masked: z.boolean().default(false),
      only_masked_padding: z.int().min(0).max(MAX_ONLY_MASKED_PADDING).default(32),
    })
    .optional(),
  /** Outpainting (needs init_image, not inpaint): pixels added per side, and how the border is drawn. */
  outpaint: z
    .strictObject({
      left: z.int().min(0),
      right: z.int().min(0),
      top: z.int().min(0),
      bottom: z.int().min(0),
      blur: z.number().min(0).max(MAX_MASK_BLUR),
      masked_content: z.enum(MASKED_CONTENT),
    })
    .optional(),
  /** The worker gives up on the job after this long, queueing included. */
  timeout_ms: z.int().min(1000).max(3_600_000).optional(),
  /** A preview frame on the job's event stream every this many steps; 0 = none. */
  preview_every: z.int().min(0).max(LIMITS.maxSteps).default(0),
  /** Whether to return fresh embeddings for the edge to cache. */
  return_embeddings: z.boolean().default(true),
  /** The prompts as the user wrote them, for the PNG's parameters chunk only (ids decide pixels). */
  prompt_text: z.string().max(LIMITS.promptChars).optional(),
  negative_prompt_text: z.string().max(LIMITS.promptChars).optional(),
  /** LoRAs merged into the UNet and text encoders for this job; none when absent. */
  loras: z.array(LoraChoiceInput).max(LIMITS.maxLoras).default([]),
  /**
   * Run the model's image safety checker (its safety_checker/ folder) on every image, when the
   * model has one. Only the edge's policy turns it off (a Discord server that allows unfiltered
   * images in its NSFW channels).
   */
  safety_check: z.boolean().default(true),
});
export type GpuJob = z.infer<typeof GpuJob>;

export const EmbeddingPart = z.strictObject({
  part: z.string(),
  /** [chunks × maxLength, hidden] */
  shape: z.tuple([z.int(), z.int()]),
  /** Values of the pooled text embedding after the hidden states (SDXL's `text_embeds`); none when absent. */
  pooled: z.int().min(0).optional(),
});

export const GpuResult = z.strictObject({
  job_id: z.string(),
  model: z.string(),
  revision: z.string(),
  images: z.array(
    z.strictObject({
      seed: z.int(),
      part: z.string(),
      content_type: z.string(),
      width: z.int(),
      height: z.int(),
    }),
  ),
  timings_ms: z.strictObject({
    queued: z.number(),
    encode: z.number(),
    denoise: z.number(),
    decode: z.number(),
    image: z.number(),
    total: z.number(),
  }),
  /** True when the job's embeddings came from the edge's cache (the text encoder did not run). */
  embeddings_cached: z.boolean(),
  /**
   * Set when an interrupt ended the job early: the steps it had run. Its images decode the latest
   * estimate of the clean image (A1111's interrupt), so they are not the request's result.
   */
  interrupted_at_step: z.int().min(0).optional(),
  embeddings: z.strictObject({ prompt: EmbeddingPart, negative_prompt: EmbeddingPart }).optional(),
  /** Images of the batch the safety checker withheld: never sent, never stored. */
  withheld: z
    .array(z.strictObject({ index: z.int().min(0), seed: z.int(), reason: z.string().max(200) }))
    .default([]),
});
export type GpuResult = z.infer<typeof GpuResult>;

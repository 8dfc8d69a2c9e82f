// The public generation request: what a client sends to `POST /v1/images` (and what the OpenAI-
// and AUTOMATIC1111-compatible routes translate into). Validated once, at the edge's boundary.
// Fields a model decides (size, steps, guidance, scheduler) are optional here; the edge fills
// them from the model's configured defaults and checks the model's own limits.
import { z } from 'zod';
import { resolveSchedulerName, SCHEDULER_NAMES } from '../scheduler-names.ts';
import { LIMITS } from './limits.ts';

export const OUTPUT_FORMATS = ['png', 'webp', 'jpeg'] as const;

/** How a mask marks the area to repaint: white on black (A1111, diffusers) or transparent (OpenAI). */
export const MASK_SOURCES = ['luminance', 'alpha'] as const;
export type MaskSource = (typeof MASK_SOURCES)[number];
/** What the masked area starts from (A1111's inpainting_fill 0..3, in its order). */
export const MASKED_CONTENT = ['fill', 'original', 'latent_noise', 'latent_nothing'] as const;
export type MaskedContent = (typeof MASKED_CONTENT)[number];
export const MAX_MASK_BLUR = 64;
export const MAX_ONLY_MASKED_PADDING = 256;

/** Outpainting: pixels added on each side of the init image, whose new area is inpainted. */
export const OutpaintField = z.strictObject({
  left: z.int().min(0).max(LIMITS.maxSize).default(0),
  right: z.int().min(0).max(LIMITS.maxSize).default(0),
  top: z.int().min(0).max(LIMITS.maxSize).default(0),
  bottom: z.int().min(0).max(LIMITS.maxSize).default(0),
});
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

const imageSide = z
  .int()
  .min(LIMITS.minSize)
  .max(LIMITS.maxSize)
  .refine((n) => n % LIMITS.sizeMultiple === 0, { error: `must be a multiple of ${LIMITS.sizeMultiple}` });

export const schedulerField = z.string().transform((name, ctx) => {
  const resolved = resolveSchedulerName(name);
  if (!resolved) {
    ctx.addIssue({
      code: 'custom',
      message: `unknown scheduler; use one of ${SCHEDULER_NAMES.join(', ')} or an AUTOMATIC1111 sampler name`,
      input: name,
    });
    return z.NEVER;
  }
  return resolved;
});

/** -1 (or absent) asks for a random seed; the chosen seed is always returned. */
export const seedField = z.int().min(-1).max(LIMITS.maxSeed);

/** A LoRA by its name in the model's list (GET /v1/models), and its weight (A1111's multiplier). */
export const LoraField = z.strictObject({
  name: z.string().min(1).max(100),
  weight: z.number().min(-LIMITS.maxLoraWeight).max(LIMITS.maxLoraWeight).default(1),
});

export const GenerationRequest = z.strictObject({
  /** May be empty only with init_image (img2img redraws the picture unprompted, as A1111 allows). */
  prompt: z.string().max(LIMITS.promptChars),
  negative_prompt: z.string().max(LIMITS.promptChars).default(''),
  model: z.string().min(1).max(100).optional(),
  width: imageSide.optional(),
  height: imageSide.optional(),
  steps: z.int().min(1).max(LIMITS.maxSteps).optional(),
  guidance_scale: z.number().min(0).max(LIMITS.maxGuidanceScale).optional(),
  /** Rescales guided noise toward the conditional one's spread (Lin et al. 2023, §3.4); 0 = off. */
  guidance_rescale: z.number().min(0).max(1).default(0),
  scheduler: schedulerField.optional(),
  seed: seedField.default(-1),
  n: z.int().min(1).max(LIMITS.maxImages).default(1),
  output_format: z.enum(OUTPUT_FORMATS).default('png'),
  /** img2img: the starting image, base64 (PNG, JPEG or WebP), and how much of it to repaint. */
  init_image: z.base64().optional(),
  strength: z.number().gt(0).max(1).optional(),
  /** Inpainting: a mask image, base64, the same size as init_image; only its area is repainted. */
  mask: z.base64().optional(),
  mask_source: z.enum(MASK_SOURCES).default('luminance'),
  invert_mask: z.boolean().default(false),
  /** Gaussian sigma in pixels for the mask's edge (A1111's default 4). */
  mask_blur: z.number().min(0).max(MAX_MASK_BLUR).default(4),
  masked_content: z.enum(MASKED_CONTENT).default('original'),
  /** Inpaint the mask's surroundings only, upscaled to the output size (A1111's inpaint_full_res). */
  inpaint_only_masked: z.boolean().default(false),
  only_masked_padding: z.int().min(0).max(MAX_ONLY_MASKED_PADDING).default(32),
  /** Extends the canvas; width and height default to the init image's size plus these. */
  outpaint: OutpaintField.optional(),
  /** LoRAs to apply, besides any `<lora:name:weight>` tags in the prompt (weights of one name add up). */
  loras: z.array(LoraField).max(LIMITS.maxLoras).default([]),
});

export type GenerationRequest = z.infer<typeof GenerationRequest>;

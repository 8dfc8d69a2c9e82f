// One served model as wrangler.toml's MODELS declares it: what a request may ask of it and what
// it gets when it asks nothing. Checked once per isolate, with the defaults inside the limits.
import { LIMITS } from '@latent-edge/shared/protocol/limits';
import { SCHEDULER_NAMES } from '@latent-edge/shared/scheduler-names';
import { z } from 'zod';
import { parseSize } from './image-size.ts';

const side = z.int().min(LIMITS.minSize).max(LIMITS.maxSize);

/** The architectures the gpu-worker runs; SDXL has a second text encoder (tokenizer_2). */
export const MODEL_FAMILIES = ['sd1', 'sd2', 'sdxl'] as const;

export const ModelConfig = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
    /** Build time only (infra/tokenizer/compile.ts): the model folder. */
    source: z.string().optional(),
    /** Pinned revision; otherwise the one computed at build time from `source`. */
    revision: z.string().max(100).optional(),
    family: z.enum(MODEL_FAMILIES).default('sd1'),
    /**
     * The only sizes the model makes, "WIDTHxHEIGHT" (SDXL's aspect buckets); any size within the
     * maximums when absent. At most 25, so /imagine can offer them all.
     */
    sizes: z
      .array(z.string().regex(/^\d{1,5}x\d{1,5}$/, 'a size is "WIDTHxHEIGHT", e.g. "1024x1024"'))
      .min(1)
      .max(25)
      .optional(),
    default_width: side,
    default_height: side,
    max_width: side,
    max_height: side,
    /** The UNet needs sides that are multiples of this (8 × 2^(down blocks − 1); 64 for SD 1.5). */
    size_multiple: z.int().min(LIMITS.sizeMultiple).max(256),
    default_steps: z.int().min(1).max(LIMITS.maxSteps),
    max_steps: z.int().min(1).max(LIMITS.maxSteps),
    default_guidance_scale: z.number().min(0).max(LIMITS.maxGuidanceScale),
    default_scheduler: z.enum(SCHEDULER_NAMES),
  })
  .superRefine((m, ctx) => {
    const problems: string[] = [];
    if (m.size_multiple % LIMITS.sizeMultiple !== 0)
      problems.push(`size_multiple ${m.size_multiple} is not a multiple of ${LIMITS.sizeMultiple}`);
    for (const key of ['default_width', 'default_height', 'max_width', 'max_height'] as const) {
      if (m[key] % m.size_multiple !== 0)
        problems.push(`${key} ${m[key]} is not a multiple of size_multiple`);
    }
    if (m.default_width > m.max_width) problems.push('default_width exceeds max_width');
    if (m.default_height > m.max_height) problems.push('default_height exceeds max_height');
    if (m.default_steps > m.max_steps) problems.push('default_steps exceeds max_steps');
    for (const size of m.sizes ?? []) {
      const { width, height } = parseSize(size) ?? { width: 0, height: 0 };
      if (width % m.size_multiple !== 0 || height % m.size_multiple !== 0)
        problems.push(`size ${size} is not a multiple of size_multiple`);
      if (width > m.max_width || height > m.max_height) problems.push(`size ${size} exceeds the maximum`);
    }
    if (m.sizes && !m.sizes.includes(`${m.default_width}x${m.default_height}`))
      problems.push('the default size is not one of sizes');
    for (const message of problems) ctx.addIssue({ code: 'custom', message: `model "${m.id}": ${message}` });
  });

export type ModelConfig = z.output<typeof ModelConfig>;

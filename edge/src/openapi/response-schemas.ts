// What the native API answers, as zod schemas for the document. The routes build these bodies
// as plain objects (edge/src/generation/images-response.ts, edge/src/jobs/job-record.ts, the
// route files); edge/test/openapi.test.ts checks real answers against the document, so a field
// added there and not here fails a test.
import {
  MASK_SOURCES,
  MASKED_CONTENT,
  OUTPUT_FORMATS,
  OutpaintField,
} from '@latent-edge/shared/protocol/generation-request';
import { SCHEDULER_NAMES } from '@latent-edge/shared/scheduler-names';
import { z } from 'zod';
import { MODEL_FAMILIES } from '../config/model-config.ts';
import { IMAGE_CONTENT_TYPES } from '../generation/image-objects.ts';

const count = z.int().min(0);

export const ErrorBody = z
  .strictObject({
    error: z.strictObject({
      code: z.string().describe('Stable, machine-readable: invalid_request, not_found, rate_limited, …'),
      message: z.string().describe('For people: names the field, the value and the rule.'),
      field: z.string().optional().describe('The request field at fault, as a path (`width`, `images[0]`).'),
      rule: z
        .string()
        .optional()
        .describe('With `prompt_blocked`: the name of the prompt-policy rule the prompt matched.'),
    }),
  })
  .describe('Every 4xx and 5xx answer has this body.');

const TokenReport = z.strictObject({
  count: count.describe('Tokens in the prompt, without the start and end tokens.'),
  count_2: count
    .optional()
    .describe("The same for the model's second text encoder (SDXL's tokenizer_2), when it has one."),
  limit: count.describe("The model's limit; a longer prompt is refused, never cut."),
  chunks: count.describe('75-token chunks the prompt is encoded in.'),
  truncated: z.boolean().describe('Always false.'),
});

export const GeneratedImage = z.strictObject({
  url: z.url().describe('The image: permanent, content-addressed, immutable.'),
  share_url: z.url().describe('A page for the image with a preview card.'),
  seed: count,
  width: count,
  height: count,
  content_type: z.enum(Object.values(IMAGE_CONTENT_TYPES)),
  cached: z.boolean().describe('Whether it came from the result cache.'),
});

export const ImagesResponse = z
  .strictObject({
    id: z.uuid(),
    model: z.string(),
    revision: z.string().describe("A hash of the model's files; part of every cache key."),
    images: z.array(GeneratedImage),
    seeds: z.array(count),
    tokens: z.strictObject({ prompt: TokenReport, negative_prompt: TokenReport }),
    parameters: z
      .strictObject({
        prompt: z.string(),
        negative_prompt: z.string(),
        width: count,
        height: count,
        steps: count,
        guidance_scale: z.number(),
        guidance_rescale: z.number(),
        scheduler: z.enum(SCHEDULER_NAMES),
        seed: count,
        n: count,
        output_format: z.enum(OUTPUT_FORMATS),
        strength: z.number().optional(),
        mask_source: z.enum(MASK_SOURCES).optional(),
        invert_mask: z.boolean().optional(),
        mask_blur: z.number().optional(),
        masked_content: z.enum(MASKED_CONTENT).optional(),
        inpaint_only_masked: z.boolean().optional(),
        outpaint: OutpaintField.optional(),
        only_masked_padding: z.number().optional(),
      })
      .describe('Every parameter used, defaults filled in: send them back to make the same images.'),
  })
  .describe('Finished images.');

export const JobView = z
  .strictObject({
    id: z.uuid(),
    status: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
    attempts: count.describe('Times the job has been started (a gpu-worker outage retries it).'),
    progress: z
      .strictObject({
        queue_position: z.int().min(1).nullable().describe('1: next to start; null once it runs.'),
        step: count.describe('Denoising steps done.'),
        steps: count.nullable(),
        elapsed_ms: z.number().min(0).nullable(),
        eta_ms: z.number().min(0).nullable().describe('Denoising time left at the pace so far.'),
      })
      .optional()
      .describe('Where the job is, once a gpu-worker has it (kept as it last was after the end).'),
    result: ImagesResponse.optional().describe('When it succeeded.'),
    error: z
      .strictObject({ code: z.string(), message: z.string() })
      .optional()
      .describe('Why it failed, or why the last attempt failed while it waits to be retried.'),
    webhook: z
      .strictObject({
        url: z.url(),
        attempts: count,
        delivered_at: z.iso.datetime().optional(),
        last_error: z.string().optional(),
        progress: z.boolean().optional().describe('Whether the webhook is told of progress too.'),
      })
      .optional(),
    url: z.url().describe('Where to poll it.'),
  })
  .describe('An asynchronous job. Visible only to the API key that created it.');

export const ModelList = z.strictObject({
  object: z.literal('list'),
  data: z.array(
    z.strictObject({
      id: z.string(),
      object: z.literal('model'),
      revision: z.string(),
      family: z.enum(MODEL_FAMILIES).describe('sd1, sd2 or sdxl (two text encoders, size conditioning).'),
      sizes: z
        .array(z.string())
        .nullable()
        .describe(
          'The only sizes the model makes, "WIDTHxHEIGHT" (SDXL buckets); null: any within the limits.',
        ),
      text_encoders: count.describe('1, or 2 for SDXL; /v1/tokenize reports each.'),
      defaults: z.strictObject({
        width: count,
        height: count,
        steps: count,
        guidance_scale: z.number(),
        scheduler: z.enum(SCHEDULER_NAMES),
      }),
      limits: z.strictObject({
        max_width: count,
        max_height: count,
        size_multiple: count,
        max_steps: count,
        max_images: count,
        max_prompt_tokens: count,
        max_loras: count.describe('LoRAs per request, from the prompt and the `loras` field together.'),
        max_lora_weight: z
          .number()
          .describe('Largest weight of either sign, after weights of one name add up.'),
      }),
      schedulers: z.array(z.enum(SCHEDULER_NAMES)),
      loras: z
        .array(
          z.strictObject({
            name: z.string().describe('`<lora:name:weight>` in the prompt, or `loras: [{name, weight}]`.'),
            sha256: z
              .string()
              .describe("The file's SHA-256: part of the cache key of every image made with it."),
            text_encoder: z.boolean().describe('Whether it changes the text encoder as well as the UNet.'),
          }),
        )
        .describe("The LoRA files in the model folder's `loras/`."),
      embeddings: z
        .array(
          z.strictObject({
            name: z.string().describe('Write the name in a prompt; its vectors take its place.'),
            sha256: z.string().describe("The file's SHA-256 (the model revision covers it)."),
            vectors: count.describe('Prompt tokens it takes.'),
          }),
        )
        .describe("The textual-inversion embeddings in the model folder's `embeddings/`."),
    }),
  ),
});

const TokenChunks = z.array(
  z.strictObject({
    ids: z.array(count).describe('The 77 token ids the text encoder sees, start, end and padding included.'),
    weights: z.array(z.number()).describe('The emphasis weight of each id: `(word:1.5)`, `[word]`.'),
    tokens: z.array(
      z.strictObject({
        text: z.string(),
        weight: z.number(),
        embedding: z.string().optional().describe('For an embedding vector: the embedding it belongs to.'),
      }),
    ),
  }),
);

export const TokenizeResponse = z.strictObject({
  model: z.string(),
  revision: z.string(),
  token_count: count,
  token_limit: count,
  truncated: z.boolean(),
  chunks: TokenChunks,
  token_count_2: count.optional().describe("The second text encoder's count (SDXL), when the model has one."),
  chunks_2: TokenChunks.optional().describe("The same chunks by the second encoder's own tokenizer (SDXL)."),
  loras: z
    .array(z.strictObject({ name: z.string(), weight: z.number() }))
    .describe('The `<lora:name:weight>` tags found (and taken out before tokenizing: they cost no tokens).'),
  embeddings: z
    .array(z.string())
    .describe('Textual-inversion embeddings the prompt names: each takes as many tokens as it has vectors.'),
});

export const WebhookSecret = z.strictObject({
  secret: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/=]+$/)
    .describe('Verifies the `webhook-signature` header of deliveries for this key.'),
  scheme: z.literal('standard-webhooks v1'),
});

// The OpenAI Images API, so tools built on the `openai` SDK work unchanged:
// POST /v1/images/generations (JSON), /v1/images/edits and /v1/images/variations (multipart).
// Generations: `size` is "WxH" (or "auto": the model's default; for a model with aspect buckets,
// the nearest bucket); `response_format` url or
// b64_json; OpenAI model names pick the default model. OpenAI's own options that do not apply
// here (quality, style, background, …) are accepted and ignored; unknown fields are refused, as
// OpenAI refuses them. Our extras: negative_prompt, steps, guidance_scale, scheduler, seed.
import { type GenerationRequest, OUTPUT_FORMATS } from '@latent-edge/shared/protocol/generation-request';
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { bucketSize } from '../compat/bucket-size.ts';
import { nativeRequest, withClientNames } from '../compat/native-request.ts';
import { type ImageSize, parseSize } from '../config/image-size.ts';
import type { AppEnv } from '../env.ts';
import { imageBytes, toBase64 } from '../generation/image-bytes.ts';
import { accountedGeneration } from '../generation/job-accounting.ts';
import { prepareGeneration } from '../generation/prepare-generation.ts';
import { keyShare } from '../generation/queue-dispatch.ts';
import { findModel, type ServedModel } from '../generation/served-models.ts';
import { ApiError } from '../http/api-error.ts';
import { baseUrl } from '../http/base-url.ts';
import { readJson } from '../http/read-json.ts';

export const openai = new Hono<AppEnv>();

/** Names OpenAI clients send by default; they mean "your default model" here. */
const OPENAI_MODELS = /^(dall-e-[23]|gpt-image-[\w.-]+)$/;

export const OpenAiImageRequest = z.strictObject({
  prompt: z.string(),
  model: z.string().max(100).optional(),
  n: z.int().optional(),
  size: z.string().max(20).optional(),
  response_format: z.enum(['url', 'b64_json']).default('url'),
  output_format: z.enum(OUTPUT_FORMATS).optional(),
  quality: z.string().max(20).optional(),
  style: z.string().max(20).optional(),
  user: z.string().max(256).optional(),
  background: z.string().max(20).optional(),
  moderation: z.string().max(20).optional(),
  output_compression: z.int().optional(),
  negative_prompt: z.string().optional(),
  steps: z.int().optional(),
  guidance_scale: z.number().optional(),
  scheduler: z.string().optional(),
  seed: z.int().optional(),
});

const CLIENT_NAMES = { width: 'size', height: 'size' };

/**
 * OpenAI's `size`: "auto" is the model's default; a model with aspect buckets (SDXL) gets the
 * bucket nearest in shape, since OpenAI clients only offer fixed sizes (1792x1024 → 1344x768).
 */
export function requestedSize(size: string | undefined, model: ServedModel): Partial<ImageSize> {
  if (size === undefined || size === 'auto') return {};
  const parsed = parseSize(size);
  if (!parsed) {
    throw new ApiError(
      400,
      'invalid_request',
      `size: ${JSON.stringify(size)} must look like "512x512" or be "auto"`,
      {
        field: 'size',
      },
    );
  }
  return bucketSize(model, parsed);
}

/** OpenAI's model names mean the default model here. */
export function servedModelId(model: string | undefined): string | undefined {
  return model !== undefined && OPENAI_MODELS.test(model) ? undefined : model;
}

openai.post('/generations', async (c) => {
  const config = c.var.config;
  const body = await readJson(c, OpenAiImageRequest, config.MAX_BODY_BYTES);
  const modelId = servedModelId(body.model);
  const request = nativeRequest(
    {
      prompt: body.prompt,
      model: modelId,
      n: body.n,
      ...requestedSize(body.size, findModel(config, modelId)),
      output_format: body.output_format,
      negative_prompt: body.negative_prompt,
      steps: body.steps,
      guidance_scale: body.guidance_scale,
      scheduler: body.scheduler,
      seed: body.seed,
    },
    CLIENT_NAMES,
  );
  return answerOpenAi(c, request, CLIENT_NAMES, body.response_format);
});

/** Runs a native request for an OpenAI route and answers in OpenAI's images shape. */
export async function answerOpenAi(
  c: Context<AppEnv>,
  request: GenerationRequest,
  clientNames: Readonly<Record<string, string>>,
  responseFormat: 'url' | 'b64_json',
): Promise<Response> {
  const config = c.var.config;
  const outcome = await withClientNames(clientNames, async () =>
    accountedGeneration(
      { env: c.env, config, waitUntil: (p) => c.executionCtx.waitUntil(p) },
      c.var.apiKey,
      await prepareGeneration(config, request),
      { jobId: crypto.randomUUID(), share: keyShare(c.var.apiKey, config.MAX_IN_FLIGHT_PER_KEY) },
    ),
  );
  const base = baseUrl(c);
  const data = await Promise.all(
    outcome.images.map(async (image) => ({
      ...(responseFormat === 'b64_json'
        ? { b64_json: toBase64(await imageBytes(c.env.IMAGES, image)) }
        : { url: `${base}/i/${image.objectKey}` }),
      revised_prompt: outcome.generation.prompt.text,
      seed: image.seed,
    })),
  );
  c.header('X-Cache', outcome.cache);
  return c.json({
    created: Math.floor(Date.now() / 1000),
    data,
    output_format: outcome.generation.outputFormat,
    size: `${outcome.generation.width}x${outcome.generation.height}`,
  });
}

// OpenAI's image edits and variations (multipart), as the `openai` SDK's `images.edit` and
// `images.createVariation` send them, on the inpainting and img2img the pipeline already has:
// - edits: the prompt repaints the mask's transparent area (OpenAI's convention); without a mask,
//   a PNG with an alpha channel is its own mask, and any other image is repainted whole (img2img).
//   Several `image`s: Stable Diffusion has no reference-image input, so the first is edited and
//   the answer's `X-Ignored-Images` header counts the others.
// - variations: the image redrawn by img2img with an empty prompt (or our `prompt` extra).
// `size` absent or "auto" keeps the image's own size when the model can make it. OpenAI's options
// that do not apply are accepted and ignored; our extras are the generations route's and
// `strength`. The mask must be the image's size (a 400 otherwise), as OpenAI requires.
import { type GenerationRequest, OUTPUT_FORMATS } from '@latent-edge/shared/protocol/generation-request';
import { parseWith } from '@latent-edge/shared/protocol/validation-error';
import { Hono } from 'hono';
import { z } from 'zod';
import { imageOutputSize } from '../compat/image-output-size.ts';
import { nativeRequest } from '../compat/native-request.ts';
import type { ImageSize } from '../config/image-size.ts';
import type { AppEnv } from '../env.ts';
import { toBase64 } from '../generation/image-bytes.ts';
import { findModel, type ServedModel } from '../generation/served-models.ts';
import { ApiError } from '../http/api-error.ts';
import { type FormFile, readForm } from '../http/read-form.ts';
import { answerOpenAi, requestedSize, servedModelId } from './openai.ts';

export const openaiEdits = new Hono<AppEnv>();

const number = z.coerce.number();
const integer = z.coerce.number().int();

const CommonFields = {
  model: z.string().max(100).optional(),
  n: integer.optional(),
  size: z.string().max(20).optional(),
  response_format: z.enum(['url', 'b64_json']).default('url'),
  output_format: z.enum(OUTPUT_FORMATS).optional(),
  user: z.string().max(256).optional(),
  quality: z.string().max(20).optional(),
  background: z.string().max(20).optional(),
  moderation: z.string().max(20).optional(),
  input_fidelity: z.string().max(20).optional(),
  output_compression: integer.optional(),
  negative_prompt: z.string().optional(),
  steps: integer.optional(),
  guidance_scale: number.optional(),
  scheduler: z.string().optional(),
  seed: integer.optional(),
  strength: number.optional(),
};

export const OpenAiEditFields = z.strictObject({
  prompt: z.string(),
  ...CommonFields,
  mask_blur: number.optional(),
});

export const OpenAiVariationFields = z.strictObject({ prompt: z.string().default(''), ...CommonFields });

const CLIENT_NAMES = { width: 'size', height: 'size', init_image: 'image', mask: 'mask' };
/** How much of the picture a variation redraws when `strength` is not given. */
const VARIATION_STRENGTH = 0.6;

function fields<T extends z.ZodType>(schema: T, text: Record<string, string>): z.output<T> {
  const parsed = parseWith(schema, text);
  if (!parsed.success) {
    throw new ApiError(400, parsed.error.code, parsed.error.message, { field: parsed.error.field });
  }
  return parsed.data;
}

function files(all: Record<string, FormFile[]>, allowed: readonly string[]): void {
  const unknown = Object.keys(all).filter((name) => !allowed.includes(name));
  if (unknown.length > 0) {
    throw new ApiError(400, 'invalid_request', `${unknown[0]}: not a file field of this route`, {
      field: unknown[0],
    });
  }
}

function firstImage(all: Record<string, FormFile[]>): { image: FormFile; ignored: number } {
  const images = [...(all.image ?? []), ...(all['image[]'] ?? [])];
  if (images.length === 0) {
    throw new ApiError(400, 'invalid_request', 'image: an image file is required', { field: 'image' });
  }
  return { image: images[0], ignored: images.length - 1 };
}

/** "auto" or absent: the image's own size when this model makes it (compat/image-output-size.ts). */
function outputSize(size: string | undefined, model: ServedModel, image: Uint8Array): Partial<ImageSize> {
  if (size !== undefined && size !== 'auto') return requestedSize(size, model);
  return imageOutputSize(model, image, 'image');
}

/** A PNG whose colour type carries alpha (4, 6) or that has a tRNS chunk before its pixels. */
export function pngHasAlpha(bytes: Uint8Array): boolean {
  if (bytes.length < 33 || bytes[0] !== 0x89 || bytes[1] !== 0x50) return false;
  if (bytes[25] === 4 || bytes[25] === 6) return true;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 8; at + 8 <= bytes.length; ) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (type === 'tRNS') return true;
    if (type === 'IDAT' || type === 'IEND') return false;
    at += 12 + length;
  }
  return false;
}

/** The native request both routes make: the picture as init image, the fields the two share. */
function editRequest(
  config: AppEnv['Variables']['config'],
  body: z.output<typeof OpenAiVariationFields>,
  image: Uint8Array,
  own: Partial<GenerationRequest>,
): GenerationRequest {
  const modelId = servedModelId(body.model);
  return nativeRequest(
    {
      prompt: body.prompt,
      model: modelId,
      n: body.n,
      ...outputSize(body.size, findModel(config, modelId), image),
      output_format: body.output_format,
      negative_prompt: body.negative_prompt,
      steps: body.steps,
      guidance_scale: body.guidance_scale,
      scheduler: body.scheduler,
      seed: body.seed,
      init_image: toBase64(image),
      ...own,
    },
    CLIENT_NAMES,
  );
}

openaiEdits.post('/edits', async (c) => {
  const form = await readForm(c, c.var.config.MAX_BODY_BYTES);
  files(form.files, ['image', 'image[]', 'mask']);
  const body = fields(OpenAiEditFields, form.text);
  const { image, ignored } = firstImage(form.files);
  const mask = form.files.mask?.[0]?.bytes ?? (pngHasAlpha(image.bytes) ? image.bytes : undefined);
  const request = editRequest(c.var.config, body, image.bytes, {
    // A masked edit repaints its area from the prompt alone, as OpenAI's do.
    strength: body.strength ?? (mask ? 1 : undefined),
    ...(mask && {
      mask: toBase64(mask),
      mask_source: 'alpha' as const,
      masked_content: 'fill' as const,
      mask_blur: body.mask_blur,
    }),
  });
  if (ignored > 0) c.header('X-Ignored-Images', String(ignored));
  return answerOpenAi(c, request, CLIENT_NAMES, body.response_format);
});

openaiEdits.post('/variations', async (c) => {
  const form = await readForm(c, c.var.config.MAX_BODY_BYTES);
  files(form.files, ['image']);
  const body = fields(OpenAiVariationFields, form.text);
  const { image } = firstImage(form.files);
  const request = editRequest(c.var.config, body, image.bytes, {
    strength: body.strength ?? VARIATION_STRENGTH,
  });
  return answerOpenAi(c, request, CLIENT_NAMES, body.response_format);
});

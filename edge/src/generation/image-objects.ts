// Images in R2: content-addressed by their result-cache key, written once with the HTTP headers
// they are served with and the parameters that made them (R2 metadata travels with the object,
// so the share page needs nothing else). R2 caps the metadata (r2-metadata-size.ts): long prompts
// are shortened in the metadata only, marked so; the PNG's text chunks keep them whole.
import type { OutputFormat } from '@latent-edge/shared/protocol/generation-request';
import type { PreparedGeneration } from './prepare-generation.ts';
import { fitsR2Metadata } from './r2-metadata-size.ts';
import { rememberStored } from './stored-images.ts';

export const IMAGE_EXTENSIONS: Readonly<Record<OutputFormat, string>> = {
  png: 'png',
  webp: 'webp',
  jpeg: 'jpg',
};
export const IMAGE_CONTENT_TYPES: Readonly<Record<OutputFormat, string>> = {
  png: 'image/png',
  webp: 'image/webp',
  jpeg: 'image/jpeg',
};
/** The key is a hash of everything that decides the pixels: the bytes at a URL never change. */
export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable';

/** `<64 hex>.<png|webp|jpg>`: the only names /i/ serves. */
export const OBJECT_NAME = /^([0-9a-f]{64})\.(png|webp|jpg)$/;

export function objectKey(key: string, format: OutputFormat): string {
  return `${key}.${IMAGE_EXTENSIONS[format]}`;
}

/** What the share page and the compatible APIs read back from an object. */
export interface ImageParameters {
  model: string;
  revision: string;
  prompt: string;
  negative_prompt: string;
  width: number;
  height: number;
  steps: number;
  guidance_scale: number;
  guidance_rescale: number;
  scheduler: string;
  seed: number;
  output_format: OutputFormat;
  strength?: number;
  /** Outpainting: the pixels added on each side of the init image. */
  outpaint?: { left: number; right: number; top: number; bottom: number };
  /** Discord's Zoom out: the key of the stored image this one outpaints (its init image). */
  zoomed_from?: string;
  /** True when the prompts were shortened to fit R2's metadata limit. */
  prompts_shortened?: boolean;
}

/** The first `fraction` of `text`'s code points (never half a surrogate pair), marked when cut. */
function shorten(text: string, fraction: number): string {
  const chars = Array.from(text);
  const kept = Math.floor(chars.length * fraction);
  // ASCII marker: one character above U+00FF would make Miniflare count the whole value twice.
  return kept >= chars.length ? text : `${chars.slice(0, kept).join('')}...`;
}

function storedMetadata(parameters: ImageParameters): Record<string, string> {
  return { seed: String(parameters.seed), params: JSON.stringify(parameters) };
}

/**
 * The parameters as stored: whole when their JSON fits R2's metadata limit, else with both
 * prompts cut to the same (largest fitting) share of their characters and `prompts_shortened`.
 * What counts is the serialized size, not the prompt's: JSON writes a control character (free
 * for the tokenizer) as six bytes, so a valid prompt can be many times its length.
 */
function fitParameters(whole: ImageParameters): ImageParameters {
  if (fitsR2Metadata(storedMetadata(whole))) return whole;
  const cut = (fraction: number): ImageParameters => ({
    ...whole,
    prompt: shorten(whole.prompt, fraction),
    negative_prompt: shorten(whole.negative_prompt, fraction),
    prompts_shortened: true,
  });
  // Binary search on the share kept; empty prompts always fit (the other fields are small).
  let low = 0;
  let high = 1;
  for (let i = 0; i < 16; i++) {
    const middle = (low + high) / 2;
    if (fitsR2Metadata(storedMetadata(cut(middle)))) low = middle;
    else high = middle;
  }
  return cut(low);
}

export function imageParameters(generation: PreparedGeneration, seed: number): ImageParameters {
  return fitParameters({
    model: generation.model,
    revision: generation.revision,
    prompt: generation.prompt.text,
    negative_prompt: generation.negativePrompt.text,
    width: generation.width,
    height: generation.height,
    steps: generation.steps,
    guidance_scale: generation.guidanceScale,
    guidance_rescale: generation.guidanceRescale,
    scheduler: generation.scheduler,
    seed,
    output_format: generation.outputFormat,
    ...(generation.strength !== undefined ? { strength: generation.strength } : {}),
    ...(generation.outpaint && {
      outpaint: {
        left: generation.outpaint.left,
        right: generation.outpaint.right,
        top: generation.outpaint.top,
        bottom: generation.outpaint.bottom,
      },
    }),
    ...(generation.zoomedFrom !== undefined ? { zoomed_from: generation.zoomedFrom } : {}),
  });
}

export async function storeImage(
  bucket: R2Bucket,
  key: string,
  bytes: Uint8Array,
  parameters: ImageParameters,
): Promise<R2Object> {
  const name = objectKey(key, parameters.output_format);
  const object = await bucket.put(name, bytes, {
    httpMetadata: {
      contentType: IMAGE_CONTENT_TYPES[parameters.output_format],
      cacheControl: IMMUTABLE_CACHE_CONTROL,
    },
    customMetadata: storedMetadata(parameters),
  });
  rememberStored(name);
  return object;
}

/** The parameters stored with an object, or undefined for an object written some other way. */
export function readImageParameters(object: R2Object): ImageParameters | undefined {
  const raw = object.customMetadata?.params;
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as ImageParameters;
  } catch {
    return undefined;
  }
}

// Images in R2: content-addressed by their result-cache key, written once with the HTTP headers
// they are served with and the parameters that made them (R2 metadata travels with the object,
// so the share page needs nothing else). R2 caps custom + HTTP metadata at 8 192 bytes
// (SD-NOTES §6.3): long prompts are shortened in the metadata only; the PNG keeps them whole.
import type { OutputFormat } from '@latent-edge/shared/protocol/generation-request';
import type { PreparedGeneration } from './prepare-generation.ts';
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

/** Bytes left for the two prompts once the other fields and the HTTP metadata are counted. */
const PROMPT_METADATA_BYTES = 6000;

function shorten(text: string, maxBytes: number): string {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= maxBytes) return text;
  // Cut on a character boundary: decoding a truncated UTF-8 tail drops the partial character.
  return `${new TextDecoder().decode(bytes.subarray(0, maxBytes - 3)).replace(/\uFFFD+$/, '')}…`;
}

export function imageParameters(generation: PreparedGeneration, seed: number): ImageParameters {
  const encoder = new TextEncoder();
  const promptBytes = encoder.encode(generation.prompt.text).length;
  const negativeBytes = encoder.encode(generation.negativePrompt.text).length;
  const fits = promptBytes + negativeBytes <= PROMPT_METADATA_BYTES;
  const share = (bytes: number) =>
    Math.floor((PROMPT_METADATA_BYTES * bytes) / (promptBytes + negativeBytes));
  return {
    model: generation.model,
    revision: generation.revision,
    prompt: fits ? generation.prompt.text : shorten(generation.prompt.text, share(promptBytes)),
    negative_prompt: fits
      ? generation.negativePrompt.text
      : shorten(generation.negativePrompt.text, share(negativeBytes)),
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
    ...(fits ? {} : { prompts_shortened: true }),
  };
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
    customMetadata: { seed: String(parameters.seed), params: JSON.stringify(parameters) },
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

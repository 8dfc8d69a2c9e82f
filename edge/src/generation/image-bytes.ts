// The bytes of a generated image for APIs that answer with base64 (OpenAI's b64_json, AUTOMATIC1111's
// `images`): fresh images carry them; cached ones are read back from R2.
import { ApiError } from '../http/api-error.ts';
import type { GeneratedImage } from './run-generation.ts';

export async function imageBytes(bucket: R2Bucket, image: GeneratedImage): Promise<Uint8Array> {
  if (image.bytes) return image.bytes;
  const object = await bucket.get(image.objectKey);
  if (!object)
    throw new ApiError(503, 'image_missing', `image ${image.objectKey} vanished from storage; retry`);
  return new Uint8Array(await object.arrayBuffer());
}

/** Base64 without spreading megabytes of arguments into one call. */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

// POST /upload/image stores images content-addressed, where img2img init images already live
// (`inputs/<sha256>`, removed by the bucket's lifecycle rule): the name it answers is the SHA-256
// and extension, so LoadImage and GET /view?type=input find the bytes again, and no client can
// overwrite another's image.
import { sha256Hex } from '@latent-edge/shared/crypto/hmac';
import { LIMITS } from '@latent-edge/shared/protocol/limits';
import { checkPixelCount } from '../generation/init-image.ts';
import { ApiError } from '../http/api-error.ts';
import { initImageKey } from '../jobs/queue-message.ts';

const FORMATS = [
  {
    ext: 'png',
    type: 'image/png',
    test: (b: Uint8Array) => b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47,
  },
  {
    ext: 'jpg',
    type: 'image/jpeg',
    test: (b: Uint8Array) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
  },
  {
    ext: 'webp',
    type: 'image/webp',
    test: (b: Uint8Array) =>
      String.fromCharCode(b[0], b[1], b[2], b[3]) === 'RIFF' &&
      String.fromCharCode(b[8], b[9], b[10], b[11]) === 'WEBP',
  },
] as const;

/** Multipart framing and the other fields, on top of the image itself. */
export const MAX_UPLOAD_BODY_BYTES = LIMITS.maxInitImageBytes + 64 * 1024;

export async function storeUpload(bucket: R2Bucket, file: File): Promise<string> {
  if (file.size > LIMITS.maxInitImageBytes) {
    throw new ApiError(
      413,
      'too_large',
      `image: ${file.size} bytes is larger than ${LIMITS.maxInitImageBytes}`,
      {
        field: 'image',
      },
    );
  }
  const bytes = new Uint8Array(await file.arrayBuffer());
  const format = bytes.length >= 12 ? FORMATS.find((f) => f.test(bytes)) : undefined;
  if (!format)
    throw new ApiError(400, 'invalid_request', 'image: not a PNG, JPEG or WebP image', { field: 'image' });
  // A later LoadImage decodes it: junk and bombs are refused now, before they are stored.
  checkPixelCount(bytes, 'image');
  const sha256 = await sha256Hex(bytes);
  await bucket.put(initImageKey(sha256), bytes, { httpMetadata: { contentType: format.type } });
  return `${sha256}.${format.ext}`;
}

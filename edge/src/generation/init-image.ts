// img2img's starting image and inpainting's mask arrive as base64 inside the JSON body (already
// checked to be base64 by the shared schema). Here: the decoded size limit, a look at the first
// bytes so a file that is not PNG, JPEG or WebP is refused at the edge instead of after a trip to
// a gpu-worker, and the pixel size from the header (image-size): a header that does not parse
// (junk behind a valid signature) or claims more than LIMITS.maxInitImagePixels (a decompression
// bomb) is refused here, before anything is stored or sent, and a mask of another size than its
// image is refused too.
import { LIMITS } from '@latent-edge/shared/protocol/limits';
import { imageSize } from 'image-size';
import { ApiError } from '../http/api-error.ts';

const SIGNATURES: { name: string; test: (b: Uint8Array) => boolean }[] = [
  { name: 'PNG', test: (b) => b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 },
  { name: 'JPEG', test: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  {
    name: 'WebP',
    test: (b) =>
      String.fromCharCode(b[0], b[1], b[2], b[3]) === 'RIFF' &&
      String.fromCharCode(b[8], b[9], b[10], b[11]) === 'WEBP',
  },
];

export function decodeInitImage(base64: string, field = 'init_image'): Uint8Array {
  // 4 base64 characters carry 3 bytes: refuse before allocating anything for an oversized image.
  if (Math.floor((base64.length * 3) / 4) > LIMITS.maxInitImageBytes + 3) {
    throw new ApiError(
      413,
      'too_large',
      `${field}: larger than ${LIMITS.maxInitImageBytes} bytes once decoded`,
      { field },
    );
  }
  const binary = atob(base64);
  if (binary.length > LIMITS.maxInitImageBytes) {
    throw new ApiError(
      413,
      'too_large',
      `${field}: ${binary.length} bytes is larger than ${LIMITS.maxInitImageBytes}`,
      {
        field,
      },
    );
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  if (bytes.length < 12 || !SIGNATURES.some((s) => s.test(bytes))) {
    throw new ApiError(400, 'invalid_request', `${field}: not a PNG, JPEG or WebP image`, { field });
  }
  checkPixelCount(bytes, field);
  return bytes;
}

/** Refuses a picture whose header does not parse or claims more pixels than any job may decode. */
export function checkPixelCount(bytes: Uint8Array, field: string): void {
  const { width, height } = pixelSize(bytes, field);
  if (width * height > LIMITS.maxInitImagePixels) {
    throw new ApiError(
      400,
      'invalid_request',
      `${field}: ${width}x${height} is ${width * height} pixels, more than ${LIMITS.maxInitImagePixels}`,
      { field },
    );
  }
}

/** Width and height from the file's header; a header that does not parse is the client's 400. */
export function pixelSize(bytes: Uint8Array, field: string): { width: number; height: number } {
  const size = headerSize(bytes);
  if (size) return size;
  throw new ApiError(400, 'invalid_request', `${field}: the image header does not give its size`, { field });
}

/** Width and height from the file's header, or undefined when it does not parse. */
export function headerSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  try {
    const { width, height } = imageSize(bytes);
    return width && height ? { width, height } : undefined;
  } catch {
    return undefined;
  }
}

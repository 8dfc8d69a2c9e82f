// Preview frames: the small RGB picture of a latent, scaled to a preview size with a smooth
// filter and encoded as a small lossy WebP (a few hundred bytes to a few KB).
import sharp from 'sharp';

/** Longest side of a preview frame: enough to see the composition, small enough to stream. */
export const PREVIEW_MAX_SIDE = 256;

export interface PreviewFrame {
  bytes: Uint8Array;
  width: number;
  height: number;
}

/** Scales `rgb` (width × height × 3) to the output aspect, at most PREVIEW_MAX_SIDE, as WebP. */
export async function encodePreview(
  rgb: Uint8Array,
  width: number,
  height: number,
  outputWidth: number,
  outputHeight: number,
): Promise<PreviewFrame> {
  const scale = Math.min(1, PREVIEW_MAX_SIDE / Math.max(outputWidth, outputHeight));
  const target = {
    width: Math.max(1, Math.round(outputWidth * scale)),
    height: Math.max(1, Math.round(outputHeight * scale)),
  };
  const bytes = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .resize(target.width, target.height, { kernel: 'cubic', fit: 'fill' })
    .webp({ quality: 60 })
    .toBuffer();
  return { bytes: new Uint8Array(bytes), ...target };
}

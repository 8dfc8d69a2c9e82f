// A mask file → per-pixel repaint weights in [0, 1] at the output size. Two conventions, as the
// clients send them: AUTOMATIC1111 and diffusers paint the area to repaint white on black
// (`luminance`); OpenAI's edits leave it transparent (`alpha`, often the image itself). The mask
// is fitted like the init image (cover, centred) so the two stay aligned, then optionally inverted
// and blurred (A1111's mask_blur: a Gaussian of that sigma, so the repainted area fades in).

import type { MaskSource } from '@latent-edge/shared/protocol/generation-request';
import sharp from 'sharp';
import { ImageDecodeError } from '../image/image-codec.ts';
import { sharpInput } from '../image/image-input.ts';

export interface MaskOptions {
  source: MaskSource;
  /** Repaint what the mask keeps instead (A1111's inpainting_mask_invert). */
  invert?: boolean;
  /** Gaussian sigma in pixels; 0 or absent: a hard edge. */
  blur?: number;
}

/** Row-major [height × width] weights: 1 repaints the pixel, 0 keeps the init image's. */
export async function readMask(
  bytes: Uint8Array,
  width: number,
  height: number,
  options: MaskOptions,
): Promise<Float32Array> {
  let channel: Buffer;
  try {
    const fitted = sharpInput(bytes).rotate().resize(width, height, { fit: 'cover' });
    const single =
      options.source === 'alpha' ? fitted.ensureAlpha().extractChannel(3) : fitted.removeAlpha().greyscale();
    channel = await single.raw().toBuffer();
    if (options.blur && options.blur > 0) {
      // A second pass so the blur runs at the output size whatever order sharp would pick.
      channel = await sharp(channel, { raw: { width, height, channels: 1 } })
        .blur(Math.max(0.3, options.blur))
        .extractChannel(0) // sharp would otherwise hand back three (sRGB) channels
        .raw()
        .toBuffer();
    }
  } catch (error) {
    throw new ImageDecodeError(`cannot read the mask: ${(error as Error).message}`, 'mask');
  }
  const repaintWhenHigh = (options.source === 'luminance') !== Boolean(options.invert);
  const mask = new Float32Array(width * height);
  for (let i = 0; i < mask.length; i++) {
    const v = channel[i] / 255;
    mask[i] = repaintWhenHigh ? v : 1 - v;
  }
  return mask;
}

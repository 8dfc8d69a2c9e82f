// Outpainting is inpainting on a larger canvas: the init image, fitted to the canvas less the
// extensions, sits at (left, top); the new border starts as the image's edge pixels stretched
// outward (sharp's `extendWith: 'copy'`), which gives the model the colours to continue, and the
// mask covers exactly that border. The result is then an ordinary inpainting request.
import sharp from 'sharp';
import { ImageDecodeError } from '../image/image-codec.ts';
import { sharpInput } from '../image/image-input.ts';

export interface Extension {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

export interface OutpaintCanvas {
  /** The canvas as a PNG (the new init image) and its mask (white = the new border) as a PNG. */
  image: Uint8Array;
  mask: Uint8Array;
}

export async function outpaintCanvas(
  init: Uint8Array,
  extension: Extension,
  width: number,
  height: number,
): Promise<OutpaintCanvas> {
  const { left, right, top, bottom } = extension;
  const inner = { width: width - left - right, height: height - top - bottom };
  let image: Buffer;
  try {
    image = await sharpInput(init)
      .rotate()
      .resize(inner.width, inner.height, { fit: 'cover' })
      .removeAlpha()
      .extend({ left, right, top, bottom, extendWith: 'copy' })
      .png()
      .toBuffer();
  } catch (error) {
    throw new ImageDecodeError(`cannot read the init image: ${(error as Error).message}`);
  }
  const mask = Buffer.alloc(width * height, 255);
  for (let y = top; y < height - bottom; y++) mask.fill(0, y * width + left, y * width + width - right);
  const maskPng = await sharp(mask, { raw: { width, height, channels: 1 } })
    .png()
    .toBuffer();
  return { image: new Uint8Array(image), mask: new Uint8Array(maskPng) };
}

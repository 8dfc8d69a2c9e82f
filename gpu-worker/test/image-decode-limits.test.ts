// Init images and masks are decoded by sharp (libvips) with a pixel cap read from the header
// before any pixel is, and a timeout: a small file that claims a huge picture is refused, not
// decoded into gigabytes.
import { LIMITS } from '@latent-edge/shared/protocol/limits';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImage, ImageDecodeError } from '../src/image/image-codec.ts';
import { readMask } from '../src/inpaint/mask-image.ts';
import { outpaintCanvas } from '../src/inpaint/outpaint-canvas.ts';

/** A one-colour PNG just past the cap: about 50 KB of file for 17.6 million pixels. */
async function pixelBomb(): Promise<Uint8Array> {
  const width = 8000;
  const height = Math.ceil(LIMITS.maxInitImagePixels / width) + 100;
  const png = await sharp({ create: { width, height, channels: 3, background: '#000' } })
    .png({ compressionLevel: 9 })
    .toBuffer();
  return new Uint8Array(png);
}

describe('decoding a picture past the pixel cap', () => {
  it('is refused as the init image, the mask and the outpainting source', async () => {
    const bomb = await pixelBomb();
    await expect(decodeImage(bomb, 64, 64)).rejects.toThrow(ImageDecodeError);
    await expect(decodeImage(bomb, 64, 64)).rejects.toThrow(/pixel limit/);
    await expect(readMask(bomb, 64, 64, { source: 'luminance' })).rejects.toThrow(/pixel limit/);
    await expect(outpaintCanvas(bomb, { left: 8, right: 8, top: 0, bottom: 0 }, 80, 64)).rejects.toThrow(
      /pixel limit/,
    );
  });

  it('still decodes a picture at the cap', async () => {
    const side = Math.floor(Math.sqrt(LIMITS.maxInitImagePixels));
    const png = await sharp({ create: { width: side, height: side, channels: 3, background: '#336699' } })
      .png()
      .toBuffer();
    const rgb = await decodeImage(new Uint8Array(png), 8, 8);
    expect([...rgb.subarray(0, 3)]).toEqual([0x33, 0x66, 0x99]);
  });
});

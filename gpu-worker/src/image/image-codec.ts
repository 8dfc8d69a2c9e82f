// Image files in and out, through sharp (libvips): a maintained codec library rather than our own.

import type { OutputFormat } from '@latent-edge/shared/protocol/generation-request';
import sharp from 'sharp';
import { sharpInput } from './image-input.ts';
import { addPngText } from './png-text.ts';

export const CONTENT_TYPES: Readonly<Record<OutputFormat, string>> = {
  png: 'image/png',
  webp: 'image/webp',
  jpeg: 'image/jpeg',
};

export interface EncodeOptions {
  format: OutputFormat;
  /** PNG text chunks (A1111's `parameters`, our JSON); ignored for other formats. */
  text?: Record<string, string>;
}

export async function encodeImage(
  rgb: Uint8Array,
  width: number,
  height: number,
  options: EncodeOptions,
): Promise<Uint8Array> {
  const image = sharp(rgb, { raw: { width, height, channels: 3 } });
  switch (options.format) {
    case 'png': {
      const png = await image.png({ compressionLevel: 6 }).toBuffer();
      return options.text ? addPngText(png, options.text) : new Uint8Array(png);
    }
    case 'webp':
      return new Uint8Array(await image.webp({ quality: 90 }).toBuffer());
    case 'jpeg':
      return new Uint8Array(await image.jpeg({ quality: 92, mozjpeg: true }).toBuffer());
  }
}

/** An image part sharp cannot read; `field` names the request field it came in. */
export class ImageDecodeError extends Error {
  override name = 'ImageDecodeError';

  constructor(
    message: string,
    readonly field = 'init_image',
  ) {
    super(message);
  }
}

/** Decodes any image sharp reads, resized (cover, centred) to width × height, as RGB bytes. */
export async function decodeImage(bytes: Uint8Array, width: number, height: number): Promise<Uint8Array> {
  try {
    const { data } = await sharpInput(bytes)
      .rotate()
      .resize(width, height, { fit: 'cover' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    return new Uint8Array(data);
  } catch (error) {
    throw new ImageDecodeError(`cannot read the init image: ${(error as Error).message}`);
  }
}

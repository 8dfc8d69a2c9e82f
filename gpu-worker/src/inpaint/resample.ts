// Crops and resizes of raw pixel buffers for "only masked" inpainting, through sharp (Lanczos for
// pictures, as A1111's resize; linear for masks so their soft edge stays monotone).
import sharp from 'sharp';
import type { Region } from './crop-region.ts';

interface Raw {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

async function resample(source: Raw, region: Region, width: number, height: number): Promise<Uint8Array> {
  const { data, width: w, height: h, channels } = source;
  const out = await sharp(data, { raw: { width: w, height: h, channels } })
    .extract({ left: region.x, top: region.y, width: region.width, height: region.height })
    .resize(width, height, { fit: 'fill', kernel: channels === 1 ? 'linear' : 'lanczos3' })
    .raw()
    .toBuffer();
  // sharp may hand a one-band image back as one band or expand it; keep band 0.
  if (channels === 1 && out.length !== width * height) {
    const bands = out.length / (width * height);
    return Uint8Array.from({ length: width * height }, (_, i) => out[i * bands]);
  }
  return new Uint8Array(out);
}

/** The region of an RGB picture (w × h) at width × height. */
export function resampleRgb(
  rgb: Uint8Array,
  w: number,
  h: number,
  region: Region,
  width: number,
  height: number,
) {
  return resample({ data: rgb, width: w, height: h, channels: 3 }, region, width, height);
}

/** The region of a [0, 1] mask at width × height. */
export async function resampleMask(
  mask: Float32Array,
  w: number,
  h: number,
  region: Region,
  width: number,
  height: number,
): Promise<Float32Array> {
  const bytes = Uint8Array.from(mask, (v) => Math.round(v * 255));
  const out = await resample({ data: bytes, width: w, height: h, channels: 1 }, region, width, height);
  return Float32Array.from(out, (v) => v / 255);
}

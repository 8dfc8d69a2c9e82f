// What an inpainting request works on, and how its result goes back: the picture and masks the
// pipeline encodes and denoises (the whole init image, or for "only masked" the crop around the
// mask upscaled to the output size), and what the decoded picture is pasted into (always the
// whole init image at the output size, with its own mask, so every kept pixel is the init's).
import { RequestError } from '../pipeline/check-request.ts';
import { cropRegion, type Region } from './crop-region.ts';
import { latentMask, repaintsAnything } from './latent-mask.ts';
import { type MaskOptions, readMask } from './mask-image.ts';
import { fillMasked, type MaskedContent } from './masked-content.ts';
import { pasteBack } from './paste-back.ts';
import { resampleMask, resampleRgb } from './resample.ts';

export interface InpaintOptions extends MaskOptions {
  /** The mask file (PNG/JPEG/WebP), or the init image itself when its alpha is the mask. */
  mask: Uint8Array;
  /** What the masked area starts from; `original` when absent. */
  maskedContent?: MaskedContent;
  /** A1111's inpaint_full_res: work on the mask's surroundings only, at full resolution. */
  onlyMasked?: boolean;
  /** Pixels kept around the mask's box in that crop (A1111's inpaint_full_res_padding). */
  onlyMaskedPadding?: number;
}

export interface PasteTarget {
  initRgb: Uint8Array;
  pixelMask: Float32Array;
  /** Where the worked picture goes, scaled, when only the mask's surroundings were worked on. */
  region?: Region;
}

export interface InpaintPlan {
  /** The picture to encode (with `fill` applied) and its masks, at the output size. */
  rgb: Uint8Array;
  pixelMask: Float32Array;
  latentMask: Float32Array;
  content: MaskedContent;
  paste: PasteTarget;
}

export async function planInpaint(
  init: Uint8Array,
  options: InpaintOptions,
  width: number,
  height: number,
): Promise<InpaintPlan> {
  const mask = await readMask(options.mask, width, height, options);
  if (!repaintsAnything(mask)) {
    throw new RequestError(
      'mask',
      'the mask repaints nothing (no pixel is at least half white, or transparent)',
    );
  }
  const content = options.maskedContent ?? 'original';
  const paste: PasteTarget = { initRgb: init, pixelMask: mask };
  let rgb = init;
  let pixelMask = mask;
  if (options.onlyMasked) {
    const region = cropRegion(mask, width, height, options.onlyMaskedPadding ?? 32);
    paste.region = region;
    rgb = await resampleRgb(init, width, height, region, width, height);
    pixelMask = await resampleMask(mask, width, height, region, width, height);
  }
  if (content === 'fill') rgb = fillMasked(rgb, pixelMask);
  return { rgb, pixelMask, latentMask: latentMask(pixelMask, width, height), content, paste };
}

/** The decoded picture (width × height) back into the init image, kept pixels untouched. */
export async function pasteInpainted(
  target: PasteTarget,
  generated: Uint8Array,
  width: number,
  height: number,
): Promise<Uint8Array> {
  const { region } = target;
  if (!region) return pasteBack(target.initRgb, generated, target.pixelMask);
  const scaled = await resampleRgb(
    generated,
    width,
    height,
    { x: 0, y: 0, width, height },
    region.width,
    region.height,
  );
  const placed = Uint8Array.from(target.initRgb);
  for (let y = 0; y < region.height; y++) {
    const from = y * region.width * 3;
    placed.set(scaled.subarray(from, from + region.width * 3), ((region.y + y) * width + region.x) * 3);
  }
  return pasteBack(target.initRgb, placed, target.pixelMask);
}

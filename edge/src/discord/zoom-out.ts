// Zoom out (Midjourney's Zoom Out 1.5x): the image, unchanged, centred on a canvas 1.5 times its
// size, whose new border is outpainted. Each side of the canvas is the image's side × 1.5 rounded
// to the nearest multiple of the model's size_multiple (the UNet's; the native API refuses any
// other size), or the next multiple up where that would not grow it, so every zoom adds something. The added pixels
// are split between the two opposite sides, the odd half-pixel (if any) going right or down. A
// canvas past the model's maximum, or outside its aspect buckets (SDXL), is refused with the
// reason, for the user to read.
import type { ImageSize } from '../config/image-size.ts';
import type { ModelConfig } from '../config/model-config.ts';

export const ZOOM_OUT_FACTOR = 1.5;

export interface Outpaint {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

export type ZoomOutPlan =
  | { fits: true; width: number; height: number; outpaint: Outpaint }
  | { fits: false; width: number; height: number; reason: string };

type ZoomModel = Pick<ModelConfig, 'id' | 'size_multiple' | 'max_width' | 'max_height' | 'sizes'>;

/** A side zoomed out: × 1.5 to the nearest multiple, and always longer than it was. */
export function zoomedSide(side: number, multiple: number): number {
  const rounded = Math.round((side * ZOOM_OUT_FACTOR) / multiple) * multiple;
  return rounded > side ? rounded : (Math.floor(side / multiple) + 1) * multiple;
}

export function planZoomOut(size: ImageSize, model: ZoomModel): ZoomOutPlan {
  const width = zoomedSide(size.width, model.size_multiple);
  const height = zoomedSide(size.height, model.size_multiple);
  if (width > model.max_width || height > model.max_height) {
    return {
      fits: false,
      width,
      height,
      reason: `Zoomed out, this image would be ${width}×${height}, larger than model "${model.id}" makes (at most ${model.max_width}×${model.max_height}).`,
    };
  }
  if (model.sizes && !model.sizes.includes(`${width}x${height}`)) {
    return {
      fits: false,
      width,
      height,
      reason: `Zoomed out, this image would be ${width}×${height}, which is not one of the sizes model "${model.id}" makes (${model.sizes.join(', ')}).`,
    };
  }
  const left = Math.floor((width - size.width) / 2);
  const top = Math.floor((height - size.height) / 2);
  return {
    fits: true,
    width,
    height,
    outpaint: { left, right: width - size.width - left, top, bottom: height - size.height - top },
  };
}

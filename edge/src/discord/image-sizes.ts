// The sizes /imagine offers for a model, as a Discord choice list (at most 25 choices): the
// model's own `sizes` when it declares them (SDXL's buckets), otherwise the model's default, every square, and the common photo and screen aspect ratios (4:3, 3:2, 16:9,
// 2:1 and their portrait forms) whose sides are multiples of the model's size_multiple within
// its maximum, the 25 nearest in area to the default kept. Facts about the model come from its
// configuration, so a choice is always a size the model can make.
import { LIMITS } from '@latent-edge/shared/protocol/limits';
import { type ImageSize, parseSize, sizeValue } from '../config/image-size.ts';
import type { ModelConfig } from '../config/model-config.ts';

export { type ImageSize, parseSize, sizeValue };

/** Discord's limit on an option's choices. */
export const MAX_CHOICES = 25;

const RATIOS: readonly [number, number][] = [
  [1, 1],
  [4, 3],
  [3, 4],
  [3, 2],
  [2, 3],
  [16, 9],
  [9, 16],
  [2, 1],
  [1, 2],
];

export function allowedSizes(model: ModelConfig): ImageSize[] {
  // A model with aspect buckets (SDXL) makes only those.
  if (model.sizes) return model.sizes.flatMap((size) => parseSize(size) ?? []);
  const step = model.size_multiple;
  const fits = (side: number, max: number) => side >= LIMITS.minSize && side <= max && side % step === 0;
  const found = new Map<string, ImageSize>();
  const add = (size: ImageSize) => found.set(sizeValue(size), size);
  add({ width: model.default_width, height: model.default_height });
  for (let width = step; width <= model.max_width; width += step) {
    for (const [across, down] of RATIOS) {
      const height = (width * down) / across;
      if (fits(width, model.max_width) && Number.isInteger(height) && fits(height, model.max_height)) {
        add({ width, height });
      }
    }
  }
  const defaultArea = model.default_width * model.default_height;
  const distance = (s: ImageSize) => Math.abs(Math.log2((s.width * s.height) / defaultArea));
  return [...found.values()]
    .sort((a, b) => distance(a) - distance(b))
    .slice(0, MAX_CHOICES)
    .sort((a, b) => a.width * a.height - b.width * b.height || a.width - b.width);
}

// Sizes from clients that do not know our models: OpenAI clients offer fixed sizes (1792x1024),
// A1111 clients default to 512x512. A model with aspect buckets (SDXL) makes only those, so such a
// size lands on the bucket nearest in shape instead of being refused; the response says which size
// was made. The native API refuses a size outside the buckets, naming them.
import { type ImageSize, nearestSize, parseSize } from '../config/image-size.ts';
import type { ServedModel } from '../generation/served-models.ts';

/** `size` as asked (a missing side is the model's default), moved to the nearest bucket if it has them. */
export function bucketSize(model: ServedModel, size: Partial<ImageSize>): Partial<ImageSize> {
  const buckets = model.config.sizes?.flatMap((s) => parseSize(s) ?? []);
  if (!buckets || (size.width === undefined && size.height === undefined)) return size;
  return nearestSize(buckets, {
    width: size.width ?? model.config.default_width,
    height: size.height ?? model.config.default_height,
  });
}

// The output size of an edit when the client names none: the picture's own size when the model
// makes it (so edits and inpainting answer at the size they were given), else the nearest size it
// does make (its multiple, its buckets), as OpenAI's `size: auto` and A1111's clients expect.
import type { ImageSize } from '../config/image-size.ts';
import { pixelSize } from '../generation/init-image.ts';
import type { ServedModel } from '../generation/served-models.ts';
import { bucketSize } from './bucket-size.ts';

export function imageOutputSize(model: ServedModel, image: Uint8Array, field: string): Partial<ImageSize> {
  const own = pixelSize(image, field);
  const { size_multiple: multiple, max_width, max_height, sizes } = model.config;
  const fits =
    own.width % multiple === 0 &&
    own.height % multiple === 0 &&
    own.width <= max_width &&
    own.height <= max_height &&
    (!sizes || sizes.includes(`${own.width}x${own.height}`));
  if (fits) return own;
  // Round to the model's multiple within its limits; bucketed models take their nearest bucket.
  const round = (v: number, max: number) =>
    Math.min(max, Math.max(multiple, Math.round(v / multiple) * multiple));
  return bucketSize(model, { width: round(own.width, max_width), height: round(own.height, max_height) });
}

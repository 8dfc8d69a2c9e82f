// An image size as people write it ("1024x1024"): model configuration, /imagine choices and the
// OpenAI `size` field all use this form.

export interface ImageSize {
  width: number;
  height: number;
}

export function sizeValue({ width, height }: ImageSize): string {
  return `${width}x${height}`;
}

/** "512x768" → { width, height }; undefined when it is not that shape. */
export function parseSize(value: string): ImageSize | undefined {
  const match = /^(\d{1,5})x(\d{1,5})$/.exec(value);
  return match ? { width: Number(match[1]), height: Number(match[2]) } : undefined;
}

/**
 * The choice closest in shape to `size` (aspect ratio on a log scale, then area): how a fixed
 * OpenAI size such as 1792x1024 lands on an SDXL bucket (1344x768) instead of being refused.
 */
export function nearestSize(choices: readonly ImageSize[], size: ImageSize): ImageSize {
  const shape = (s: ImageSize) => Math.log(s.width / s.height);
  const area = (s: ImageSize) => Math.log(s.width * s.height);
  const distance = (s: ImageSize) => [Math.abs(shape(s) - shape(size)), Math.abs(area(s) - area(size))];
  return choices.reduce((best, s) => {
    const [a, b] = distance(s);
    const [c, d] = distance(best);
    return a < c - 1e-9 || (Math.abs(a - c) <= 1e-9 && b < d) ? s : best;
  });
}

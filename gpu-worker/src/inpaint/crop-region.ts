// AUTOMATIC1111's "only masked" inpainting (inpaint_full_res): instead of the whole picture, the
// mask's bounding box plus `padding` pixels, widened to the output's aspect ratio, is upscaled to
// the output size, inpainted there at full resolution, scaled back and pasted in. Small masked
// areas get all of the model's pixels. modules/masking.py `get_crop_region` and
// `expand_crop_region` are the reference; the region is kept inside the picture.

export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The box of pixels with mask ≥ 0.5, grown by `padding`, with the aspect of width × height. */
export function cropRegion(mask: Float32Array, width: number, height: number, padding: number): Region {
  let [x0, y0, x1, y1] = [width, height, -1, -1];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (mask[y * width + x] < 0.5) continue;
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x);
      y1 = Math.max(y1, y);
    }
  }
  if (x1 < 0) return { x: 0, y: 0, width, height };
  x0 = Math.max(0, x0 - padding);
  y0 = Math.max(0, y0 - padding);
  x1 = Math.min(width, x1 + 1 + padding);
  y1 = Math.min(height, y1 + 1 + padding);
  // Widen the short side so the box has the output's aspect (no stretching when it is upscaled).
  const aspect = width / height;
  let w = x1 - x0;
  let h = y1 - y0;
  if (w / h < aspect) w = Math.min(width, Math.round(h * aspect));
  else h = Math.min(height, Math.round(w / aspect));
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const x = Math.min(Math.max(0, Math.round(cx - w / 2)), width - w);
  const y = Math.min(Math.max(0, Math.round(cy - h / 2)), height - h);
  return { x, y, width: w, height: h };
}

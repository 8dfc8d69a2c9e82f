// The pixel mask at latent resolution: one weight per 8×8 block, 1 where the denoise loop may
// change the latent, 0 where each step puts back the init image's (re-noised) latent. Binary, as
// diffusers and A1111 make it (a half-kept latent decodes to neither image). A block is repainted
// when any of its pixels is at least half repainted, so no pixel the mask repaints keeps a stale
// latent; blocks wholly outside the mask never change.

export const LATENT_FACTOR = 8;

export function latentMask(mask: Float32Array, width: number, height: number): Float32Array {
  const w = width / LATENT_FACTOR;
  const h = height / LATENT_FACTOR;
  const out = new Float32Array(w * h);
  for (let y = 0; y < height; y++) {
    const row = Math.floor(y / LATENT_FACTOR) * w;
    for (let x = 0; x < width; x++) {
      if (mask[y * width + x] >= 0.5) out[row + Math.floor(x / LATENT_FACTOR)] = 1;
    }
  }
  return out;
}

/** Whether any pixel is repainted at all (an empty mask is a request error, not a no-op). */
export function repaintsAnything(mask: Float32Array): boolean {
  return mask.some((v) => v >= 0.5);
}

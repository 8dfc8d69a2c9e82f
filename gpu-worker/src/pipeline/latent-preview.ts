// A preview of a latent without the VAE: each latent pixel's channels mapped linearly to RGB
// (rgb = bias + Σ_c factors[c]·latent[c], in the decoder's [−1, 1] range). An 8× smaller picture
// of what the decoder would draw, for a few hundred multiply-adds per pixel row.

export interface LatentRgbMap {
  /** factors[c] = the [r, g, b] contribution of latent channel c. */
  factors: readonly (readonly number[])[];
  bias: readonly number[];
}

/**
 * SD 1.x / 2.x (the kl-f8 VAE, scaled latents): AUTOMATIC1111's "cheap approximation"
 * (modules/sd_vae_approx.py, from discuss.huggingface.co/t/decoding-latents-to-rgb-without-
 * upscaling/23204/2), which has no bias.
 */
export const SD_KL_F8_LATENT_RGB: LatentRgbMap = {
  factors: [
    [0.298, 0.207, 0.208],
    [0.187, 0.286, 0.173],
    [-0.158, 0.189, 0.264],
    [-0.184, -0.271, -0.473],
  ],
  bias: [0, 0, 0],
};

/** SDXL's VAE (same kl-f8 shape, other latent space): the same A1111 function's SDXL branch. */
export const SDXL_LATENT_RGB: LatentRgbMap = {
  factors: [
    [0.3448, 0.4168, 0.4395],
    [-0.1953, -0.029, 0.025],
    [0.1074, 0.0886, -0.0163],
    [-0.373, -0.2499, -0.2088],
  ],
  bias: [0, 0, 0],
};

/** Latents [channels, height, width] (one image) → RGB bytes, height × width × 3. */
export function latentToRgb(
  latents: Float32Array,
  channels: number,
  height: number,
  width: number,
  map: LatentRgbMap,
): Uint8Array {
  if (map.factors.length !== channels) {
    throw new RangeError(`the preview map has ${map.factors.length} channels; the latents ${channels}`);
  }
  const plane = height * width;
  const rgb = new Uint8Array(plane * 3);
  for (let p = 0; p < plane; p++) {
    for (let k = 0; k < 3; k++) {
      let value = map.bias[k];
      for (let c = 0; c < channels; c++) value += map.factors[c][k] * latents[c * plane + p];
      // [−1, 1] → [0, 255], clamped as the VAE's output is.
      rgb[p * 3 + k] = Math.round((Math.min(1, Math.max(-1, value)) + 1) * 127.5);
    }
  }
  return rgb;
}

// What an inpainting UNet (runwayml/stable-diffusion-inpainting, SD 2 and SDXL inpainting) reads
// besides the noisy latent: the mask at latent resolution and the latent of the image with the
// masked area blanked, joined after the latent channels (diffusers
// `pipeline_stable_diffusion_inpaint.py`: `cat([latent_model_input, mask, masked_image_latents])`,
// the masked image being `image * (mask < 0.5)` in [-1, 1], so the blank is mid-grey).
// With no mask (txt2img or img2img on such a model) the whole picture is masked and the image is
// blank, as A1111's `txt2img_image_conditioning` does.
import type { EncodedImage } from '../model/diffusion-model.ts';

/** Planar [-1, 1] pixels with every pixel the mask repaints (≥ 0.5) set to 0, mid-grey. */
export function maskedImagePlanes(planes: Float32Array, pixelMask: Float32Array): Float32Array {
  const area = pixelMask.length;
  const out = Float32Array.from(planes);
  for (let i = 0; i < out.length; i++) if (pixelMask[i % area] >= 0.5) out[i] = 0;
  return out;
}

/**
 * The mask channel, then the masked image's latent: its posterior mean (or the graph's sample)
 * times the VAE scaling factor. The mean, not a draw: this is conditioning, and drawing from the
 * image's generator would shift every later draw and so change what a seed means.
 */
export function unetCondition(
  latentMask: Float32Array,
  maskedImage: EncodedImage,
  scalingFactor: number,
): Float32Array {
  const latent = 'sample' in maskedImage ? maskedImage.sample : maskedImage.mean;
  const out = new Float32Array(latentMask.length + latent.length);
  out.set(latentMask);
  for (let i = 0; i < latent.length; i++) {
    out[latentMask.length + i] = Math.fround(latent[i] * scalingFactor);
  }
  return out;
}

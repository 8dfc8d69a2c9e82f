// Step 2 of the recipe: starting latents for one image. txt2img: N(0, 1) noise from the image's
// seed times the scheduler's init_noise_sigma. img2img: the init image's VAE latent (sampled from
// its posterior with the same generator, as diffusers' `retrieve_latents` does), scaled, then
// noised to the level of the first timestep that runs (`scheduler.add_noise`). Draw order matches
// diffusers (posterior sample first, then the noise), so seeds mean the same thing.
import type { EncodedImage } from '../model/diffusion-model.ts';
import type { TorchGenerator } from '../noise/torch-generator.ts';
import type { Scheduler } from '../schedulers/scheduler.ts';

export function initialLatents(
  generator: TorchGenerator,
  scheduler: Scheduler,
  shape: readonly number[],
): Float32Array {
  const noise = generator.randn(shape);
  const sigma = scheduler.initNoiseSigma;
  if (sigma !== 1) for (let i = 0; i < noise.length; i++) noise[i] = Math.fround(noise[i] * sigma);
  return noise;
}

/** img2img's start, with the clean latent and the noise that inpainting re-noises at each step. */
export interface Img2imgStart {
  latents: Float32Array;
  clean: Float32Array;
  noise: Float32Array;
}

/**
 * `replace` changes the clean latent before it is noised (inpainting's latent_noise and
 * latent_nothing); it draws after the noise, so the unmasked area is noised as img2img's would be.
 */
export function img2imgStart(
  generator: TorchGenerator,
  scheduler: Scheduler,
  encoded: EncodedImage,
  scalingFactor: number,
  shape: readonly number[],
  replace?: (clean: Float32Array) => Float32Array,
): Img2imgStart {
  let latent: Float32Array;
  if ('sample' in encoded) {
    latent = Float32Array.from(encoded.sample);
  } else {
    // DiagonalGaussianDistribution.sample: mean + exp(0.5 · clamp(logvar, −30, 20)) · ε.
    const eps = generator.randn(shape);
    latent = new Float32Array(eps.length);
    for (let i = 0; i < eps.length; i++) {
      const logvar = Math.min(Math.max(encoded.logvar[i], -30), 20);
      latent[i] = encoded.mean[i] + Math.exp(0.5 * logvar) * eps[i];
    }
  }
  for (let i = 0; i < latent.length; i++) latent[i] = Math.fround(latent[i] * scalingFactor);
  const noise = generator.randn(shape);
  const start = replace ? replace(latent) : latent;
  return { latents: scheduler.addNoise(start, noise, scheduler.beginIndex), clean: latent, noise };
}

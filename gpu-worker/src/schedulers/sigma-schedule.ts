// `set_timesteps` of the k-diffusion style schedulers (Euler, Euler ancestral, Heun), which work
// on x = x0 + σ·ε rather than the VP x_t (huggingface/diffusers@58eb52c0
// src/diffusers/schedulers/scheduling_euler_discrete.py `set_timesteps`, `init_noise_sigma`,
// `scale_model_input`, `add_noise`). Timesteps stay float32, unrounded.

import { f32, sqrtf } from './float32.ts';
import { makeAlphasCumprod, makeBetas } from './noise-schedule.ts';
import { mapLatents } from './scheduler.ts';
import type { ResolvedSchedulerConfig } from './scheduler-config.ts';
import { interpolateSigmas, karrasSigmas, logSigmaTable, sigmaTable, sigmaToTimestep } from './sigmas.ts';
import { spaceTimesteps } from './timestep-spacing.ts';

export interface SigmaSchedule {
  timesteps: Float64Array;
  /** One σ per timestep plus the final one (0, or σ_min for final_sigmas_type "sigma_min"). */
  sigmas: Float32Array;
  initNoiseSigma: number;
}

export function makeSigmaSchedule(
  config: ResolvedSchedulerConfig,
  numInferenceSteps: number,
  { karras }: { karras: boolean },
): SigmaSchedule {
  const { numTrainTimesteps, timestepSpacing, stepsOffset } = config;
  const alphasCumprod = makeAlphasCumprod(makeBetas(config));
  // Zero terminal SNR would make σ infinite; diffusers pins ᾱ_T at 2^-24 instead.
  if (config.rescaleBetasZeroSnr) alphasCumprod[alphasCumprod.length - 1] = 2 ** -24;
  const table = sigmaTable(alphasCumprod);

  let timesteps = spaceTimesteps(timestepSpacing, numTrainTimesteps, numInferenceSteps, stepsOffset, {
    integer: false,
  });
  let sigmas = interpolateSigmas(timesteps, table);
  if (karras) {
    // Karras spacing between the ends of the interpolated schedule, timesteps read back from σ.
    const sigmaMin = config.sigmaMin ?? sigmas[sigmas.length - 1];
    const sigmaMax = config.sigmaMax ?? sigmas[0];
    const logSigmas = logSigmaTable(table);
    sigmas = karrasSigmas(sigmaMin, sigmaMax, numInferenceSteps);
    timesteps = sigmas.map((sigma) => f32(sigmaToTimestep(sigma, logSigmas)));
  }
  const finalSigma = config.finalSigmasType === 'sigma_min' ? table[0] : 0;
  const allSigmas = Float32Array.from([...sigmas, finalSigma]);

  const maxSigma = allSigmas.reduce((a, b) => Math.max(a, b));
  // "leading" starts below σ_max, where x's variance is σ² + 1 rather than ≈ σ².
  const initNoiseSigma = timestepSpacing === 'leading' ? sqrtf(f32(f32(maxSigma * maxSigma) + 1)) : maxSigma;
  return { timesteps, sigmas: allSigmas, initNoiseSigma };
}

/** `scale_model_input`: x/√(σ² + 1), the unit-variance input the UNet was trained on. */
export function scaleBySigma(sample: Float32Array, sigma: number): Float32Array {
  const scale = sqrtf(f32(f32(sigma * sigma) + 1));
  return mapLatents(sample.length, (i) => sample[i] / scale);
}

/** `add_noise` in σ space: x = x0 + σ·ε (no init_noise_sigma factor in img2img). */
export function addNoiseAtSigma(
  originalSamples: Float32Array,
  noise: Float32Array,
  sigma: number,
): Float32Array {
  return mapLatents(originalSamples.length, (i) => originalSamples[i] + f32(noise[i] * sigma));
}

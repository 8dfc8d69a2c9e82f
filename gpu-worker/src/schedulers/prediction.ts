// What the model predicts, turned into the clean-sample estimate x0 or the noise ε.
//
// VP form, x_t = α_t·x0 + σ_t·ε with α_t = √ᾱ_t, σ_t = √(1 − ᾱ_t) (DDIM, PNDM, LCM, DPM-Solver):
//   epsilon: x0 = (x − σ_t·ε)/α_t   (Song et al. 2020, "Denoising Diffusion Implicit Models", Eq. 9)
//   v:       x0 = α_t·x − σ_t·v,  ε = α_t·v + σ_t·x   (Salimans & Ho 2022, "Progressive
//            Distillation", §4 and Appendix D)
//   sample:  x0 is the output;    ε = (x − α_t·x0)/σ_t
// σ form, x = x0 + σ·ε on unscaled k-diffusion latents (Euler, Euler ancestral, Heun):
//   epsilon: x0 = x − σ·ε;  v: x0 = v·(−σ/√(σ²+1)) + x/(σ²+1);  sample: x0 is the output
// (huggingface/diffusers@58eb52c0 scheduling_ddim.py, scheduling_euler_discrete.py `step`).

import { f32, sqrtf } from './float32.ts';
import { mapLatents } from './scheduler.ts';
import type { PredictionType } from './scheduler-config.ts';

/** x0 in VP form; `alpha` = α_t = √ᾱ_t and `sigma` = σ_t = √(1 − ᾱ_t), float32 scalars. */
export function predictOriginalSample(
  predictionType: PredictionType,
  modelOutput: Float32Array,
  sample: Float32Array,
  alpha: number,
  sigma: number,
): Float32Array {
  if (predictionType === 'sample') return modelOutput;
  if (predictionType === 'v_prediction') {
    return mapLatents(sample.length, (i) => f32(alpha * sample[i]) - f32(sigma * modelOutput[i]));
  }
  return mapLatents(sample.length, (i) => f32(sample[i] - f32(sigma * modelOutput[i])) / alpha);
}

/** ε in VP form, given the x0 estimate that goes with it. */
export function predictEpsilon(
  predictionType: PredictionType,
  modelOutput: Float32Array,
  sample: Float32Array,
  alpha: number,
  sigma: number,
  originalSample: Float32Array,
): Float32Array {
  if (predictionType === 'epsilon') return modelOutput;
  if (predictionType === 'v_prediction') {
    return mapLatents(sample.length, (i) => f32(alpha * modelOutput[i]) + f32(sigma * sample[i]));
  }
  return mapLatents(sample.length, (i) => f32(sample[i] - f32(alpha * originalSample[i])) / sigma);
}

/** x0 in σ form, from the unscaled latents at noise level σ (a float32 scalar). */
export function predictOriginalFromSigma(
  predictionType: PredictionType,
  modelOutput: Float32Array,
  sample: Float32Array,
  sigma: number,
): Float32Array {
  if (predictionType === 'sample') return modelOutput;
  if (predictionType === 'v_prediction') {
    const variance = f32(f32(sigma * sigma) + 1);
    const outputScale = f32(-sigma / sqrtf(variance));
    return mapLatents(sample.length, (i) => f32(modelOutput[i] * outputScale) + f32(sample[i] / variance));
  }
  return mapLatents(sample.length, (i) => sample[i] - f32(sigma * modelOutput[i]));
}

/** The forward process x_t = α_t·x0 + σ_t·ε: `add_noise` of the VP schedulers (DDPM Eq. 4). */
export function diffuse(originalSample: Float32Array, noise: Float32Array, alpha: number, sigma: number) {
  return mapLatents(originalSample.length, (i) => f32(alpha * originalSample[i]) + f32(sigma * noise[i]));
}

/** √ᾱ and √(1 − ᾱ) as diffusers computes them from a float32 ᾱ. */
export function vpCoefficients(alphaProd: number): { alpha: number; sigma: number } {
  return { alpha: sqrtf(alphaProd), sigma: sqrtf(f32(1 - alphaProd)) };
}

/** `clip_sample`: clamps the x0 estimate to ±range (meant for pixel-space models; SD ships it off). */
export function clipSample(originalSample: Float32Array, range: number): Float32Array {
  return originalSample.map((x) => Math.min(Math.max(x, -range), range));
}

// DDIM: Song et al. 2020, "Denoising Diffusion Implicit Models", Eq. 12 with the η-family of
// Eq. 16, as huggingface/diffusers@58eb52c0 src/diffusers/schedulers/scheduling_ddim.py (`step`,
// `_get_variance`, `add_noise`). The default of SD 2.x.

import { f32, sqrtf } from './float32.ts';
import { makeAlphasCumprod, makeBetas } from './noise-schedule.ts';
import { clipSample, diffuse, predictEpsilon, predictOriginalSample, vpCoefficients } from './prediction.ts';
import {
  beginIndexForStrength,
  checkInferenceSteps,
  mapLatents,
  type NoiseGenerator,
  requireGenerator,
  type Scheduler,
  type SchedulerOptions,
  type StepOutput,
} from './scheduler.ts';
import {
  type ClassDefaults,
  type ResolvedSchedulerConfig,
  type SchedulerConfig,
  withClassDefaults,
} from './scheduler-config.ts';
import { spaceTimesteps } from './timestep-spacing.ts';

/** `DDIMScheduler.__init__` defaults. */
export const DDIM_DEFAULTS: ClassDefaults = {
  betaStart: 0.0001,
  betaEnd: 0.02,
  betaSchedule: 'linear',
  timestepSpacing: 'leading',
  setAlphaToOne: true,
  clipSample: true,
};

export class DdimScheduler implements Scheduler {
  readonly timesteps: Float64Array;
  readonly initNoiseSigma = 1;
  readonly beginIndex: number;
  private readonly config: ResolvedSchedulerConfig;
  private readonly alphasCumprod: Float32Array;
  private readonly finalAlphaCumprod: number;
  private readonly stepRatio: number;
  private readonly eta: number;

  constructor(config: SchedulerConfig, numInferenceSteps: number, options: SchedulerOptions = {}) {
    this.config = withClassDefaults(config, DDIM_DEFAULTS);
    const { numTrainTimesteps, timestepSpacing, stepsOffset } = this.config;
    checkInferenceSteps(numInferenceSteps, numTrainTimesteps);
    this.alphasCumprod = makeAlphasCumprod(makeBetas(this.config));
    this.finalAlphaCumprod = this.config.setAlphaToOne ? 1 : this.alphasCumprod[0];
    this.timesteps = spaceTimesteps(timestepSpacing, numTrainTimesteps, numInferenceSteps, stepsOffset, {
      integer: true,
    });
    this.stepRatio = Math.floor(numTrainTimesteps / numInferenceSteps);
    this.beginIndex = beginIndexForStrength(numInferenceSteps, options.strength ?? 1, 1);
    this.eta = options.eta ?? 0;
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  step(
    modelOutput: Float32Array,
    stepIndex: number,
    sample: Float32Array,
    generator?: NoiseGenerator,
  ): StepOutput {
    const { predictionType } = this.config;
    const timestep = this.timesteps[stepIndex];
    // diffusers always steps back by ⌊T/N⌋, whatever the spacing put next in `timesteps`.
    const prevTimestep = timestep - this.stepRatio;
    const alphaProd = this.alphasCumprod[timestep];
    const alphaProdPrev = prevTimestep >= 0 ? this.alphasCumprod[prevTimestep] : this.finalAlphaCumprod;

    const { alpha, sigma } = vpCoefficients(alphaProd);
    let original = predictOriginalSample(predictionType, modelOutput, sample, alpha, sigma);
    const epsilon = predictEpsilon(predictionType, modelOutput, sample, alpha, sigma, original);
    if (this.config.clipSample) original = clipSample(original, this.config.clipSampleRange);

    // Eq. 16: σ_t(η)² = η²·(1 − ᾱ_prev)/(1 − ᾱ_t)·(1 − ᾱ_t/ᾱ_prev).
    const variance = f32(
      f32(f32(1 - alphaProdPrev) / f32(1 - alphaProd)) * f32(1 - f32(alphaProd / alphaProdPrev)),
    );
    const stdDev = f32(this.eta * sqrtf(variance));
    // Eq. 12: x_prev = √ᾱ_prev·x0 + √(1 − ᾱ_prev − σ_t²)·ε + σ_t·z.
    const originalScale = sqrtf(alphaProdPrev);
    const directionScale = sqrtf(f32(f32(1 - alphaProdPrev) - f32(stdDev * stdDev)));
    const noise =
      this.eta > 0 ? requireGenerator(generator, 'DDIM with eta > 0').randn([sample.length]) : null;
    const prevSample = mapLatents(sample.length, (i) => {
      const x = f32(f32(originalScale * original[i]) + f32(directionScale * epsilon[i]));
      return noise ? x + f32(stdDev * noise[i]) : x;
    });
    return { prevSample, denoised: original };
  }

  addNoise(originalSamples: Float32Array, noise: Float32Array, stepIndex: number): Float32Array {
    const { alpha, sigma } = vpCoefficients(this.alphasCumprod[this.timesteps[stepIndex]]);
    return diffuse(originalSamples, noise, alpha, sigma);
  }
}

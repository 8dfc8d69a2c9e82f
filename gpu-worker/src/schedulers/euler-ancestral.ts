// Euler ancestral (A1111 "Euler a"): an Euler step down to σ_down, then fresh noise of standard
// deviation σ_up, so that σ_down² + σ_up² = σ_next² (k-diffusion `get_ancestral_step` with η = 1;
// Song et al. 2020 DDIM Eq. 16 in σ form). As huggingface/diffusers@58eb52c0
// src/diffusers/schedulers/scheduling_euler_ancestral_discrete.py `step`.

import { f32, sqrtf } from './float32.ts';
import { predictOriginalFromSigma } from './prediction.ts';
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
import { addNoiseAtSigma, makeSigmaSchedule, scaleBySigma } from './sigma-schedule.ts';

/** `EulerAncestralDiscreteScheduler.__init__` defaults. */
export const EULER_ANCESTRAL_DEFAULTS: ClassDefaults = {
  betaStart: 0.0001,
  betaEnd: 0.02,
  betaSchedule: 'linear',
  timestepSpacing: 'linspace',
  setAlphaToOne: false,
  clipSample: false,
};

export class EulerAncestralScheduler implements Scheduler {
  readonly timesteps: Float64Array;
  readonly sigmas: Float32Array;
  readonly initNoiseSigma: number;
  readonly beginIndex: number;
  private readonly config: ResolvedSchedulerConfig;

  constructor(config: SchedulerConfig, numInferenceSteps: number, options: SchedulerOptions = {}) {
    this.config = withClassDefaults(config, EULER_ANCESTRAL_DEFAULTS);
    if (this.config.predictionType === 'sample') {
      throw new Error('Euler ancestral supports prediction_type epsilon or v_prediction, as in diffusers');
    }
    checkInferenceSteps(numInferenceSteps, this.config.numTrainTimesteps);
    // The class has no Karras option; from_config drops use_karras_sigmas.
    const schedule = makeSigmaSchedule(
      { ...this.config, sigmaMin: undefined, sigmaMax: undefined, finalSigmasType: 'zero' },
      numInferenceSteps,
      { karras: false },
    );
    this.timesteps = schedule.timesteps;
    this.sigmas = schedule.sigmas;
    this.initNoiseSigma = schedule.initNoiseSigma;
    this.beginIndex = beginIndexForStrength(numInferenceSteps, options.strength ?? 1, 1);
  }

  scaleModelInput(sample: Float32Array, stepIndex: number): Float32Array {
    return scaleBySigma(sample, this.sigmas[stepIndex]);
  }

  /** Draws one latent-sized noise tensor from `generator` every step, the last one included. */
  step(
    modelOutput: Float32Array,
    stepIndex: number,
    sample: Float32Array,
    generator?: NoiseGenerator,
  ): StepOutput {
    const sigmaFrom = this.sigmas[stepIndex];
    const sigmaTo = this.sigmas[stepIndex + 1];
    const original = predictOriginalFromSigma(this.config.predictionType, modelOutput, sample, sigmaFrom);

    const from2 = f32(sigmaFrom * sigmaFrom);
    const to2 = f32(sigmaTo * sigmaTo);
    const sigmaUp = sqrtf(f32(f32(to2 * f32(from2 - to2)) / from2));
    const sigmaDown = sqrtf(f32(to2 - f32(sigmaUp * sigmaUp)));
    const dt = f32(sigmaDown - sigmaFrom);

    // torch.randn's values depend only on the element count, so a flat shape draws the same noise.
    const noise = requireGenerator(generator, 'Euler ancestral').randn([sample.length]);
    const prevSample = mapLatents(sample.length, (i) => {
      const derivative = f32(f32(sample[i] - original[i]) / sigmaFrom);
      return f32(sample[i] + f32(derivative * dt)) + f32(noise[i] * sigmaUp);
    });
    return { prevSample, denoised: original };
  }

  addNoise(originalSamples: Float32Array, noise: Float32Array, stepIndex: number): Float32Array {
    return addNoiseAtSigma(originalSamples, noise, this.sigmas[stepIndex]);
  }
}

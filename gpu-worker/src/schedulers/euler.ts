// Euler: Karras et al. 2022, "Elucidating the Design Space of Diffusion-Based Generative
// Models", Algorithm 2 without churn (s_churn = 0, so σ̂ = σ), as huggingface/diffusers@58eb52c0
// src/diffusers/schedulers/scheduling_euler_discrete.py `step`. SD-Turbo's scheduler.

import { f32 } from './float32.ts';
import { predictOriginalFromSigma } from './prediction.ts';
import {
  beginIndexForStrength,
  checkInferenceSteps,
  mapLatents,
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

/** `EulerDiscreteScheduler.__init__` defaults (it has no set_alpha_to_one or clip_sample). */
export const EULER_DEFAULTS: ClassDefaults = {
  betaStart: 0.0001,
  betaEnd: 0.02,
  betaSchedule: 'linear',
  timestepSpacing: 'linspace',
  setAlphaToOne: false,
  clipSample: false,
};

export class EulerScheduler implements Scheduler {
  readonly timesteps: Float64Array;
  readonly sigmas: Float32Array;
  readonly initNoiseSigma: number;
  readonly beginIndex: number;
  private readonly config: ResolvedSchedulerConfig;

  constructor(config: SchedulerConfig, numInferenceSteps: number, options: SchedulerOptions = {}) {
    this.config = withClassDefaults(config, EULER_DEFAULTS);
    checkInferenceSteps(numInferenceSteps, this.config.numTrainTimesteps);
    const schedule = makeSigmaSchedule(this.config, numInferenceSteps, {
      karras: this.config.useKarrasSigmas,
    });
    this.timesteps = schedule.timesteps;
    this.sigmas = schedule.sigmas;
    this.initNoiseSigma = schedule.initNoiseSigma;
    this.beginIndex = beginIndexForStrength(numInferenceSteps, options.strength ?? 1, 1);
  }

  scaleModelInput(sample: Float32Array, stepIndex: number): Float32Array {
    return scaleBySigma(sample, this.sigmas[stepIndex]);
  }

  step(modelOutput: Float32Array, stepIndex: number, sample: Float32Array): StepOutput {
    const sigma = this.sigmas[stepIndex];
    const original = predictOriginalFromSigma(this.config.predictionType, modelOutput, sample, sigma);
    // The probability-flow ODE dx/dσ = (x − x0)/σ, one Euler step to the next σ.
    const dt = f32(this.sigmas[stepIndex + 1] - sigma);
    const prevSample = mapLatents(sample.length, (i) => {
      const derivative = f32(f32(sample[i] - original[i]) / sigma);
      return sample[i] + f32(derivative * dt);
    });
    return { prevSample, denoised: original };
  }

  addNoise(originalSamples: Float32Array, noise: Float32Array, stepIndex: number): Float32Array {
    return addNoiseAtSigma(originalSamples, noise, this.sigmas[stepIndex]);
  }
}

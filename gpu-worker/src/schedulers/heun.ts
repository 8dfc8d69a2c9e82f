// Heun: Karras et al. 2022, "Elucidating the Design Space of Diffusion-Based Generative Models",
// Algorithm 1 (2nd-order trapezoidal correction, Euler on the last step), as
// huggingface/diffusers@58eb52c0 src/diffusers/schedulers/scheduling_heun_discrete.py. Every step
// but the last costs two model evaluations, so `timesteps` and `sigmas` repeat each inner entry:
// t = [t0, t1, t1, …, t_{N−1}, t_{N−1}], 2N − 1 evaluations.

import { f32 } from './float32.ts';
import { clipSample, predictOriginalFromSigma } from './prediction.ts';
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

/** `HeunDiscreteScheduler.__init__` defaults (note its betas differ from Euler's). */
export const HEUN_DEFAULTS: ClassDefaults = {
  betaStart: 0.00085,
  betaEnd: 0.012,
  betaSchedule: 'linear',
  timestepSpacing: 'linspace',
  setAlphaToOne: false,
  clipSample: false,
};

/** The first half of a Heun step, kept for its correction. */
interface FirstOrderState {
  derivative: Float32Array;
  dt: number;
  sample: Float32Array;
}

const ORDER = 2;

export class HeunScheduler implements Scheduler {
  readonly timesteps: Float64Array;
  readonly sigmas: Float32Array;
  readonly initNoiseSigma: number;
  readonly beginIndex: number;
  private readonly config: ResolvedSchedulerConfig;
  private firstOrder: FirstOrderState | null = null;

  constructor(config: SchedulerConfig, numInferenceSteps: number, options: SchedulerOptions = {}) {
    this.config = withClassDefaults(config, HEUN_DEFAULTS);
    checkInferenceSteps(numInferenceSteps, this.config.numTrainTimesteps);
    // HeunDiscreteScheduler has no rescale_betas_zero_snr and always ends at σ = 0.
    const schedule = makeSigmaSchedule(
      { ...this.config, rescaleBetasZeroSnr: false, finalSigmasType: 'zero' },
      numInferenceSteps,
      { karras: this.config.useKarrasSigmas },
    );
    const { timesteps, sigmas } = schedule;
    this.timesteps = Float64Array.from([timesteps[0], ...[...timesteps.subarray(1)].flatMap((t) => [t, t])]);
    const inner = [...sigmas.subarray(1, -1)].flatMap((s) => [s, s]);
    this.sigmas = Float32Array.from([sigmas[0], ...inner, sigmas[sigmas.length - 1]]);
    this.initNoiseSigma = schedule.initNoiseSigma;
    this.beginIndex = beginIndexForStrength(numInferenceSteps, options.strength ?? 1, ORDER);
  }

  scaleModelInput(sample: Float32Array, stepIndex: number): Float32Array {
    return scaleBySigma(sample, this.sigmas[stepIndex]);
  }

  step(modelOutput: Float32Array, stepIndex: number, sample: Float32Array): StepOutput {
    const first = this.firstOrder;
    // In the correction call, stepIndex points at σ_next, where the model was just evaluated.
    const sigma = first ? this.sigmas[stepIndex - 1] : this.sigmas[stepIndex];
    const sigmaNext = first ? this.sigmas[stepIndex] : this.sigmas[stepIndex + 1];
    const sigmaInput = first ? sigmaNext : sigma;
    let original = predictOriginalFromSigma(this.config.predictionType, modelOutput, sample, sigmaInput);
    if (this.config.clipSample) original = clipSample(original, this.config.clipSampleRange);

    if (!first) {
      // Euler predictor: d = (x − x0)/σ, x' = x + d·(σ_next − σ).
      const derivative = mapLatents(sample.length, (i) => f32(sample[i] - original[i]) / sigma);
      const dt = f32(sigmaNext - sigma);
      this.firstOrder = { derivative, dt, sample };
      const prevSample = mapLatents(sample.length, (i) => sample[i] + f32(derivative[i] * dt));
      return { prevSample, denoised: original };
    }
    // Trapezoidal corrector: restart from x with the mean of both slopes.
    this.firstOrder = null;
    const prevSample = mapLatents(sample.length, (i) => {
      const derivative = f32(f32(first.derivative[i] + f32(f32(sample[i] - original[i]) / sigmaNext)) / 2);
      return first.sample[i] + f32(derivative * first.dt);
    });
    return { prevSample, denoised: original };
  }

  addNoise(originalSamples: Float32Array, noise: Float32Array, stepIndex: number): Float32Array {
    return addNoiseAtSigma(originalSamples, noise, this.sigmas[stepIndex]);
  }
}

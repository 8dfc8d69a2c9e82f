// Latent Consistency Model sampling: Luo et al. 2023, "Latent Consistency Models", Algorithm 1
// (multistep consistency sampling), with the consistency-model boundary scalings of Song et al.
// 2023, "Consistency Models", Appendix C (σ_data = 0.5). As huggingface/diffusers@58eb52c0
// src/diffusers/schedulers/scheduling_lcm.py. Each step jumps to the denoised estimate, then
// re-noises it to the next timestep with fresh noise; the pipeline decodes the last `denoised`.

import { f32, sqrtf } from './float32.ts';
import { makeAlphasCumprod, makeBetas } from './noise-schedule.ts';
import { clipSample, diffuse, predictOriginalSample, vpCoefficients } from './prediction.ts';
import {
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
import { linspace } from './timestep-spacing.ts';

/** `LCMScheduler.__init__` defaults. timestep_spacing and steps_offset are accepted but unused. */
export const LCM_DEFAULTS: ClassDefaults = {
  betaStart: 0.00085,
  betaEnd: 0.012,
  betaSchedule: 'scaled_linear',
  timestepSpacing: 'leading',
  setAlphaToOne: true,
  clipSample: false,
};

const SIGMA_DATA = 0.5;

export class LcmScheduler implements Scheduler {
  readonly timesteps: Float64Array;
  readonly initNoiseSigma = 1;
  /** img2img shortens the schedule itself (see the constructor), so the loop always starts at 0. */
  readonly beginIndex = 0;
  private readonly config: ResolvedSchedulerConfig;
  private readonly alphasCumprod: Float32Array;
  private readonly finalAlphaCumprod: number;

  constructor(config: SchedulerConfig, numInferenceSteps: number, options: SchedulerOptions = {}) {
    this.config = withClassDefaults(config, LCM_DEFAULTS);
    const { numTrainTimesteps, originalInferenceSteps } = this.config;
    this.alphasCumprod = makeAlphasCumprod(makeBetas(this.config));
    this.finalAlphaCumprod = this.config.setAlphaToOne ? 1 : this.alphasCumprod[0];

    // The distillation schedule: every k-th timestep, k = ⌊T/original_steps⌋, ending at T − 1;
    // img2img keeps its first ⌊original_steps·strength⌋ (lowest) entries.
    const strength = options.strength ?? 1;
    if (!(strength > 0 && strength <= 1)) throw new RangeError(`strength must be in (0, 1]; got ${strength}`);
    const k = Math.floor(numTrainTimesteps / originalInferenceSteps);
    const originCount = Math.floor(originalInferenceSteps * strength);
    if (!Number.isInteger(numInferenceSteps) || numInferenceSteps < 1 || numInferenceSteps > originCount) {
      throw new RangeError(
        `LCM picks its steps from ${originCount} distilled timesteps (original_inference_steps ` +
          `${originalInferenceSteps}, strength ${strength}); numInferenceSteps must be 1 to ${originCount}, got ${numInferenceSteps}`,
      );
    }
    const origin = Float64Array.from({ length: originCount }, (_, i) => (originCount - i) * k - 1);
    const picks = linspace(0, originCount, numInferenceSteps, false);
    this.timesteps = picks.map((p) => origin[Math.floor(p)]);
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  /** Draws one latent-sized noise tensor from `generator` on every step but the last. */
  step(
    modelOutput: Float32Array,
    stepIndex: number,
    sample: Float32Array,
    generator?: NoiseGenerator,
  ): StepOutput {
    const timestep = this.timesteps[stepIndex];
    const isLast = stepIndex === this.timesteps.length - 1;
    const prevTimestep = isLast ? timestep : this.timesteps[stepIndex + 1];
    const alphaProd = this.alphasCumprod[timestep];
    const alphaProdPrev = prevTimestep >= 0 ? this.alphasCumprod[prevTimestep] : this.finalAlphaCumprod;

    // Boundary scalings: c_skip = σ_d²/(s² + σ_d²), c_out = s/√(s² + σ_d²), s = t·timestep_scaling.
    const scaled = f32(timestep * this.config.timestepScaling);
    const denominator = f32(f32(scaled * scaled) + SIGMA_DATA ** 2);
    const cSkip = f32(SIGMA_DATA ** 2 / denominator);
    const cOut = f32(scaled / sqrtf(denominator));

    const { alpha, sigma } = vpCoefficients(alphaProd);
    let original = predictOriginalSample(this.config.predictionType, modelOutput, sample, alpha, sigma);
    if (this.config.clipSample) original = clipSample(original, this.config.clipSampleRange);
    const denoised = mapLatents(sample.length, (i) => f32(cOut * original[i]) + f32(cSkip * sample[i]));
    if (isLast) return { prevSample: denoised, denoised };

    const noise = requireGenerator(generator, 'LCM').randn([sample.length]);
    const next = vpCoefficients(alphaProdPrev);
    return { prevSample: diffuse(denoised, noise, next.alpha, next.sigma), denoised };
  }

  addNoise(originalSamples: Float32Array, noise: Float32Array, stepIndex: number): Float32Array {
    const { alpha, sigma } = vpCoefficients(this.alphasCumprod[this.timesteps[stepIndex]]);
    return diffuse(originalSamples, noise, alpha, sigma);
  }
}

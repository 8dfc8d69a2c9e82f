// DPM-Solver++(2M): Lu et al. 2022, "DPM-Solver++: Fast Solver for Guided Sampling of Diffusion
// Probabilistic Models", Algorithm 2 (multistep, data prediction, midpoint form), as
// huggingface/diffusers@58eb52c0 src/diffusers/schedulers/scheduling_dpmsolver_multistep.py with
// algorithm_type "dpmsolver++", solver_order 2, solver_type "midpoint". A1111's "DPM++ 2M", and
// with Karras σ (`use_karras_sigmas`) "DPM++ 2M Karras".
//
// It works in VP space (init_noise_sigma 1, no input scaling) but on σ: α_t = 1/√(σ²+1),
// σ_t = σ·α_t, λ = log α_t − log σ_t. Timesteps are integers; with Karras σ the model sees the
// rounded timestep while the update uses the exact σ.

import { expf, f32, logf, sqrtf } from './float32.ts';
import { makeAlphasCumprod, makeBetas } from './noise-schedule.ts';
import { diffuse, predictOriginalSample } from './prediction.ts';
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
import { interpolateSigmas, karrasSigmas, logSigmaTable, sigmaTable, sigmaToTimestep } from './sigmas.ts';
import { roundHalfEven, spaceTimesteps } from './timestep-spacing.ts';

/** `DPMSolverMultistepScheduler.__init__` defaults (it has no set_alpha_to_one or clip_sample). */
export const DPM_SOLVER_DEFAULTS: ClassDefaults = {
  betaStart: 0.0001,
  betaEnd: 0.02,
  betaSchedule: 'linear',
  timestepSpacing: 'linspace',
  setAlphaToOne: false,
  clipSample: false,
};

/** `_sigma_to_alpha_sigma_t` in float32. */
function alphaSigma(sigma: number): { alpha: number; sigma: number; lambda: number } {
  const alpha = f32(1 / sqrtf(f32(f32(sigma * sigma) + 1)));
  const sigmaT = f32(sigma * alpha);
  // At σ = 0, λ = +∞ and e^{−h} = 0: the final step returns the data prediction itself.
  return { alpha, sigma: sigmaT, lambda: f32(logf(alpha) - logf(sigmaT)) };
}

export class DpmSolverMultistepScheduler implements Scheduler {
  readonly timesteps: Float64Array;
  readonly sigmas: Float32Array;
  readonly initNoiseSigma = 1;
  readonly beginIndex: number;
  private readonly config: ResolvedSchedulerConfig;
  /** The data prediction of the previous step, m_{i−1}. */
  private previousOriginal: Float32Array | null = null;

  constructor(config: SchedulerConfig, numInferenceSteps: number, options: SchedulerOptions = {}) {
    this.config = withClassDefaults(config, DPM_SOLVER_DEFAULTS);
    const { numTrainTimesteps, timestepSpacing, stepsOffset } = this.config;
    checkInferenceSteps(numInferenceSteps, numTrainTimesteps);
    const alphasCumprod = makeAlphasCumprod(makeBetas(this.config));
    if (this.config.rescaleBetasZeroSnr) alphasCumprod[alphasCumprod.length - 1] = 2 ** -24;
    const table = sigmaTable(alphasCumprod);

    // linspace and leading space N + 1 points and drop the last (t = 0); trailing is DDIM's grid.
    const points = timestepSpacing === 'trailing' ? numInferenceSteps : numInferenceSteps + 1;
    let timesteps = spaceTimesteps(timestepSpacing, numTrainTimesteps, points, stepsOffset, {
      integer: true,
    }).subarray(0, numInferenceSteps);
    let sigmas: Float64Array;
    if (this.config.useKarrasSigmas) {
      const logSigmas = logSigmaTable(table);
      const sigmaMin = this.config.sigmaMin ?? table[0];
      const sigmaMax = this.config.sigmaMax ?? table[table.length - 1];
      sigmas = karrasSigmas(sigmaMin, sigmaMax, numInferenceSteps);
      timesteps = sigmas.map((sigma) => roundHalfEven(sigmaToTimestep(sigma, logSigmas)));
    } else {
      sigmas = interpolateSigmas(timesteps, table);
    }
    const finalSigma = this.config.finalSigmasType === 'sigma_min' ? table[0] : 0;
    this.timesteps = timesteps;
    this.sigmas = Float32Array.from([...sigmas, finalSigma]);
    this.beginIndex = beginIndexForStrength(numInferenceSteps, options.strength ?? 1, 1);
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  step(modelOutput: Float32Array, stepIndex: number, sample: Float32Array): StepOutput {
    const { predictionType, eulerAtFinal, lowerOrderFinal, finalSigmasType } = this.config;
    const current = alphaSigma(this.sigmas[stepIndex]);
    const next = alphaSigma(this.sigmas[stepIndex + 1]);
    const original = predictOriginalSample(predictionType, modelOutput, sample, current.alpha, current.sigma);

    const isLast = stepIndex === this.timesteps.length - 1;
    const firstOrderFinal =
      isLast &&
      (eulerAtFinal || (lowerOrderFinal && this.timesteps.length < 15) || finalSigmasType === 'zero');
    const previous = firstOrderFinal ? null : this.previousOriginal;
    this.previousOriginal = original;

    // x_{i+1} = (σ_{i+1}/σ_i)·x_i − α_{i+1}(e^{−h} − 1)·D, with h = λ_{i+1} − λ_i.
    const h = f32(next.lambda - current.lambda);
    const sampleScale = f32(next.sigma / current.sigma);
    const dataScale = f32(next.alpha * f32(expf(f32(-h)) - 1));
    if (!previous) {
      // First order (DPM-Solver++ 1, i.e. DDIM): D = m_i.
      const prevSample = mapLatents(
        sample.length,
        (i) => f32(sampleScale * sample[i]) - f32(dataScale * original[i]),
      );
      return { prevSample, denoised: original };
    }
    // Second order, midpoint: D = m_i + ½·(m_i − m_{i−1})/r, r = h_{i−1}/h_i.
    const before = alphaSigma(this.sigmas[stepIndex - 1]);
    const r = f32(f32(current.lambda - before.lambda) / h);
    const differenceScale = f32(1 / r);
    const halfDataScale = f32(0.5 * dataScale);
    const prevSample = mapLatents(sample.length, (i) => {
      const difference = f32(differenceScale * f32(original[i] - previous[i]));
      return (
        f32(f32(sampleScale * sample[i]) - f32(dataScale * original[i])) - f32(halfDataScale * difference)
      );
    });
    return { prevSample, denoised: original };
  }

  addNoise(originalSamples: Float32Array, noise: Float32Array, stepIndex: number): Float32Array {
    const { alpha, sigma } = alphaSigma(this.sigmas[stepIndex]);
    return diffuse(originalSamples, noise, alpha, sigma);
  }
}

// PLMS, the pseudo linear multistep half of PNDM: Liu et al. 2022, "Pseudo Numerical Methods for
// Diffusion Models on Manifolds", Eq. 11 (the transfer φ) and Eq. 12 (4th-order Adams–Bashforth
// on ε), as huggingface/diffusers@58eb52c0 src/diffusers/schedulers/scheduling_pndm.py with
// `skip_prk_steps=True` (`step_plms`, `_get_prev_sample`). The default of SD 1.x; the Runge–Kutta
// warm-up of full PNDM is not implemented, whatever the config's `skip_prk_steps` says.

import { f32, sqrtf } from './float32.ts';
import { makeAlphasCumprod, makeBetas } from './noise-schedule.ts';
import { diffuse, predictOriginalSample, vpCoefficients } from './prediction.ts';
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
import { spaceTimesteps } from './timestep-spacing.ts';

/** `PNDMScheduler.__init__` defaults (it has no clip_sample; the flag is unused). */
export const PNDM_DEFAULTS: ClassDefaults = {
  betaStart: 0.0001,
  betaEnd: 0.02,
  betaSchedule: 'linear',
  timestepSpacing: 'leading',
  setAlphaToOne: false,
  clipSample: false,
};

/** diffusers multiplies by the Python float 1/24, which torch rounds to float32. */
const ONE_24TH = f32(1 / 24);

export class PndmScheduler implements Scheduler {
  readonly timesteps: Float64Array;
  readonly initNoiseSigma = 1;
  readonly beginIndex: number;
  private readonly config: ResolvedSchedulerConfig;
  private readonly alphasCumprod: Float32Array;
  private readonly finalAlphaCumprod: number;
  private readonly stepRatio: number;
  /** The last (up to) four model outputs the multistep formula combines. */
  private ets: Float32Array[] = [];
  private counter = 0;
  private firstSample: Float32Array | null = null;

  constructor(config: SchedulerConfig, numInferenceSteps: number, options: SchedulerOptions = {}) {
    this.config = withClassDefaults(config, PNDM_DEFAULTS);
    const { numTrainTimesteps, timestepSpacing, stepsOffset, predictionType } = this.config;
    if (predictionType === 'sample') throw new Error('PNDM supports prediction_type epsilon or v_prediction');
    checkInferenceSteps(numInferenceSteps, numTrainTimesteps);
    // PNDMScheduler has no rescale_betas_zero_snr; from_config drops the key.
    this.alphasCumprod = makeAlphasCumprod(makeBetas({ ...this.config, rescaleBetasZeroSnr: false }));
    this.finalAlphaCumprod = this.config.setAlphaToOne ? 1 : this.alphasCumprod[0];
    const grid = spaceTimesteps(timestepSpacing, numTrainTimesteps, numInferenceSteps, stepsOffset, {
      integer: true,
    });
    // `plms_timesteps` = [t0, t1, t1, t2, …]: the second timestep is evaluated twice, N + 1 in all.
    this.timesteps = Float64Array.from([...grid.subarray(0, 2), ...grid.subarray(1)]);
    this.stepRatio = Math.floor(numTrainTimesteps / numInferenceSteps);
    this.beginIndex = beginIndexForStrength(numInferenceSteps, options.strength ?? 1, 1);
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  step(modelOutput: Float32Array, stepIndex: number, sample: Float32Array): StepOutput {
    let timestep = this.timesteps[stepIndex];
    let prevTimestep = timestep - this.stepRatio;
    if (this.counter === 1) {
      // The repeated timestep redoes step 0 from its start with the averaged ε.
      prevTimestep = timestep;
      timestep += this.stepRatio;
    } else {
      this.ets = [...this.ets.slice(-3), modelOutput];
    }

    let current = sample;
    let epsilon: Float32Array;
    const e = this.ets;
    const n = sample.length;
    if (this.counter === 0) {
      epsilon = modelOutput;
      this.firstSample = sample;
    } else if (this.counter === 1) {
      epsilon = mapLatents(n, (i) => f32(modelOutput[i] + e[0][i]) / 2);
      current = this.firstSample ?? sample;
      this.firstSample = null;
    } else if (e.length === 2) {
      epsilon = mapLatents(n, (i) => f32(f32(3 * e[1][i]) - e[0][i]) / 2);
    } else if (e.length === 3) {
      epsilon = mapLatents(n, (i) => f32(f32(f32(23 * e[2][i]) - f32(16 * e[1][i])) + f32(5 * e[0][i])) / 12);
    } else {
      epsilon = mapLatents(n, (i) => {
        const sum = f32(f32(f32(55 * e[3][i]) - f32(59 * e[2][i])) + f32(37 * e[1][i]));
        return ONE_24TH * f32(sum - f32(9 * e[0][i]));
      });
    }
    this.counter++;
    return this.transfer(current, timestep, prevTimestep, epsilon);
  }

  addNoise(originalSamples: Float32Array, noise: Float32Array, stepIndex: number): Float32Array {
    const { alpha, sigma } = vpCoefficients(this.alphasCumprod[this.timesteps[stepIndex]]);
    return diffuse(originalSamples, noise, alpha, sigma);
  }

  /** Eq. 11 (`_get_prev_sample`): moves x_t to x_prev along the combined ε. */
  private transfer(
    sample: Float32Array,
    timestep: number,
    prevTimestep: number,
    output: Float32Array,
  ): StepOutput {
    const alphaProd = this.alphasCumprod[timestep];
    const alphaProdPrev = prevTimestep >= 0 ? this.alphasCumprod[prevTimestep] : this.finalAlphaCumprod;
    const betaProd = f32(1 - alphaProd);
    const { alpha, sigma } = vpCoefficients(alphaProd);
    const epsilon =
      this.config.predictionType === 'v_prediction'
        ? mapLatents(sample.length, (i) => f32(alpha * output[i]) + f32(sigma * sample[i]))
        : output;

    const sampleScale = sqrtf(f32(alphaProdPrev / alphaProd));
    const denominator = f32(
      f32(alphaProd * sqrtf(f32(1 - alphaProdPrev))) + sqrtf(f32(f32(alphaProd * betaProd) * alphaProdPrev)),
    );
    const epsilonScale = f32(alphaProdPrev - alphaProd);
    const prevSample = mapLatents(
      sample.length,
      (i) => f32(sampleScale * sample[i]) - f32(f32(epsilonScale * epsilon[i]) / denominator),
    );
    const denoised = predictOriginalSample('epsilon', epsilon, sample, alpha, sigma);
    return { prevSample, denoised };
  }
}

// A model's `scheduler/scheduler_config.json`, validated once when the model loads. As diffusers'
// `from_config` does, keys a scheduler does not know are dropped, and a key the file leaves out
// takes the default of the class that runs (huggingface/diffusers@58eb52c0
// src/diffusers/configuration_utils.py `extract_init_dict`, which also drops values the file only
// had by default). So SD 1.5's PNDM config run with Euler gets Euler's "linspace" spacing.
//
// Defaults shared by every class are applied here; the six that differ between classes are left
// undefined and filled by `withClassDefaults` from the running class's `ClassDefaults`.
// Settings we do not implement are refused rather than silently ignored.
import { z } from 'zod';
import type { BetaSchedule } from './noise-schedule.ts';
import type { TimestepSpacing } from './timestep-spacing.ts';

const unsupported = (what: string) => ({ error: `${what} is not supported by latent-edge's schedulers` });

const SchedulerConfigJson = z.object({
  num_train_timesteps: z.int().positive().default(1000),
  beta_start: z.number().positive().optional(),
  beta_end: z.number().positive().optional(),
  beta_schedule: z.enum(['linear', 'scaled_linear', 'squaredcos_cap_v2']).optional(),
  trained_betas: z.array(z.number().min(0).max(1)).nullish(),
  prediction_type: z.enum(['epsilon', 'v_prediction', 'sample']).default('epsilon'),
  timestep_spacing: z.enum(['leading', 'trailing', 'linspace']).optional(),
  /** Added to "leading" timesteps only; SD 1.x/2.x ship 1. */
  steps_offset: z.int().min(0).default(0),
  /** The ᾱ "before" t = 0 that the last VP step lands on: 1, or ᾱ_0 when false. */
  set_alpha_to_one: z.boolean().optional(),
  /** Clamp the x0 estimate to ±clip_sample_range (DDIM, LCM, Heun). */
  clip_sample: z.boolean().optional(),
  clip_sample_range: z.number().positive().default(1),
  /** Lin et al. 2023: rescale betas so the last timestep has zero SNR. */
  rescale_betas_zero_snr: z.boolean().default(false),
  /** Karras et al. 2022 σ spacing (Euler, Heun, DPM-Solver). */
  use_karras_sigmas: z.boolean().nullish(),
  sigma_min: z.number().positive().nullish(),
  sigma_max: z.number().positive().nullish(),
  /** The σ after the last step of σ-space schedulers: 0 (fully denoised) or σ_min. */
  final_sigmas_type: z.enum(['zero', 'sigma_min']).default('zero'),
  /** DPM-Solver: first-order last step for short schedules (< 15 steps), or always. */
  lower_order_final: z.boolean().default(true),
  euler_at_final: z.boolean().default(false),
  /** LCM: the step count of the distillation schedule the inference steps are picked from. */
  original_inference_steps: z.int().positive().default(50),
  /** LCM: t is multiplied by this in the consistency boundary scalings. */
  timestep_scaling: z.number().positive().default(10),
  thresholding: z.literal(false, unsupported('thresholding')).optional(),
  use_exponential_sigmas: z.literal(false, unsupported('use_exponential_sigmas')).nullish(),
  use_beta_sigmas: z.literal(false, unsupported('use_beta_sigmas')).nullish(),
  timestep_type: z.literal('discrete', unsupported('a timestep_type other than "discrete"')).optional(),
  interpolation_type: z
    .literal('linear', unsupported('an interpolation_type other than "linear"'))
    .optional(),
});

export const SchedulerConfig = SchedulerConfigJson.transform((c) => ({
  numTrainTimesteps: c.num_train_timesteps,
  betaStart: c.beta_start,
  betaEnd: c.beta_end,
  betaSchedule: c.beta_schedule as BetaSchedule | undefined,
  trainedBetas: c.trained_betas ?? null,
  predictionType: c.prediction_type,
  timestepSpacing: c.timestep_spacing as TimestepSpacing | undefined,
  stepsOffset: c.steps_offset,
  setAlphaToOne: c.set_alpha_to_one,
  clipSample: c.clip_sample,
  clipSampleRange: c.clip_sample_range,
  rescaleBetasZeroSnr: c.rescale_betas_zero_snr,
  useKarrasSigmas: c.use_karras_sigmas ?? false,
  sigmaMin: c.sigma_min ?? undefined,
  sigmaMax: c.sigma_max ?? undefined,
  finalSigmasType: c.final_sigmas_type,
  lowerOrderFinal: c.lower_order_final,
  eulerAtFinal: c.euler_at_final,
  originalInferenceSteps: c.original_inference_steps,
  timestepScaling: c.timestep_scaling,
}));

export type SchedulerConfig = z.output<typeof SchedulerConfig>;
export type PredictionType = SchedulerConfig['predictionType'];

/** The `__init__` defaults that differ between diffusers' scheduler classes. */
export interface ClassDefaults {
  betaStart: number;
  betaEnd: number;
  betaSchedule: BetaSchedule;
  timestepSpacing: TimestepSpacing;
  setAlphaToOne: boolean;
  clipSample: boolean;
}

export type ResolvedSchedulerConfig = SchedulerConfig & ClassDefaults;

export function withClassDefaults(config: SchedulerConfig, defaults: ClassDefaults): ResolvedSchedulerConfig {
  return {
    ...config,
    betaStart: config.betaStart ?? defaults.betaStart,
    betaEnd: config.betaEnd ?? defaults.betaEnd,
    betaSchedule: config.betaSchedule ?? defaults.betaSchedule,
    timestepSpacing: config.timestepSpacing ?? defaults.timestepSpacing,
    setAlphaToOne: config.setAlphaToOne ?? defaults.setAlphaToOne,
    clipSample: config.clipSample ?? defaults.clipSample,
  };
}

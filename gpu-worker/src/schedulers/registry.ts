// Maps the scheduler names a request may use (ours and AUTOMATIC1111's, see
// shared/src/scheduler-names.ts) to implementations. Names that say which σ spacing they mean
// ("DPM++ 2M" vs "DPM++ 2M Karras") set it; the others take the model's config as diffusers'
// `from_config` would.

import {
  A1111_SAMPLER_ALIASES,
  resolveSchedulerName,
  SCHEDULER_NAMES,
  type SchedulerName,
} from '@latent-edge/shared/scheduler-names';
import { DdimScheduler } from './ddim.ts';
import { DpmSolverMultistepScheduler } from './dpm-solver-multistep.ts';
import { EulerScheduler } from './euler.ts';
import { EulerAncestralScheduler } from './euler-ancestral.ts';
import { HeunScheduler } from './heun.ts';
import { LcmScheduler } from './lcm.ts';
import { PndmScheduler } from './pndm.ts';
import type { Scheduler, SchedulerOptions } from './scheduler.ts';
import type { SchedulerConfig } from './scheduler-config.ts';

type Factory = (config: SchedulerConfig, numInferenceSteps: number, options: SchedulerOptions) => Scheduler;

const FACTORIES: Record<SchedulerName, Factory> = {
  pndm: (config, steps, options) => new PndmScheduler(config, steps, options),
  ddim: (config, steps, options) => new DdimScheduler(config, steps, options),
  euler: (config, steps, options) => new EulerScheduler(config, steps, options),
  euler_ancestral: (config, steps, options) => new EulerAncestralScheduler(config, steps, options),
  dpmpp_2m: (config, steps, options) =>
    new DpmSolverMultistepScheduler({ ...config, useKarrasSigmas: false }, steps, options),
  dpmpp_2m_karras: (config, steps, options) =>
    new DpmSolverMultistepScheduler({ ...config, useKarrasSigmas: true }, steps, options),
  lcm: (config, steps, options) => new LcmScheduler(config, steps, options),
  heun: (config, steps, options) => new HeunScheduler(config, steps, options),
};

/** A fresh scheduler for one job: `name` is ours or an A1111 sampler name, case-insensitive. */
export function createScheduler(
  name: string,
  config: SchedulerConfig,
  numInferenceSteps: number,
  options: SchedulerOptions = {},
): Scheduler {
  const resolved = resolveSchedulerName(name);
  if (!resolved) {
    const known = [...SCHEDULER_NAMES, ...Object.keys(A1111_SAMPLER_ALIASES)].map((n) => `"${n}"`);
    throw new Error(`unknown scheduler "${name}": use one of ${known.join(', ')}`);
  }
  return FACTORIES[resolved](config, numInferenceSteps, options);
}

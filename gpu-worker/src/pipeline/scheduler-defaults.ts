// The scheduler a model was shipped with (scheduler_config.json `_class_name`), as a request name.
import type { SchedulerName } from '@latent-edge/shared/scheduler-names';

const BY_CLASS: Readonly<Record<string, SchedulerName>> = {
  PNDMScheduler: 'pndm',
  DDIMScheduler: 'ddim',
  EulerDiscreteScheduler: 'euler',
  EulerAncestralDiscreteScheduler: 'euler_ancestral',
  DPMSolverMultistepScheduler: 'dpmpp_2m',
  LCMScheduler: 'lcm',
  HeunDiscreteScheduler: 'heun',
};

export function defaultSchedulerFor(
  schedulerClass: string | undefined,
  useKarrasSigmas = false,
): SchedulerName {
  const name = (schedulerClass && BY_CLASS[schedulerClass]) || 'euler';
  return name === 'dpmpp_2m' && useKarrasSigmas ? 'dpmpp_2m_karras' : name;
}

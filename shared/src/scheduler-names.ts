// The schedulers a request may name. The gpu-worker's registry maps each to an implementation;
// the edge validates against this list. AUTOMATIC1111 sampler names are accepted as aliases so
// existing tools work unchanged (names as in A1111's `modules/sd_samplers_kdiffusion.py`).

export const SCHEDULER_NAMES = [
  'pndm',
  'ddim',
  'euler',
  'euler_ancestral',
  'dpmpp_2m',
  'dpmpp_2m_karras',
  'lcm',
  'heun',
] as const;

export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

export const A1111_SAMPLER_ALIASES: Readonly<Record<string, SchedulerName>> = {
  PLMS: 'pndm',
  DDIM: 'ddim',
  Euler: 'euler',
  'Euler a': 'euler_ancestral',
  'DPM++ 2M': 'dpmpp_2m',
  'DPM++ 2M Karras': 'dpmpp_2m_karras',
  LCM: 'lcm',
  Heun: 'heun',
};

/** Resolves a user-facing scheduler or sampler name (case-insensitive); undefined when unknown. */
export function resolveSchedulerName(name: string): SchedulerName | undefined {
  const wanted = name.trim().toLowerCase();
  const own = SCHEDULER_NAMES.find((n) => n === wanted);
  if (own) return own;
  for (const [alias, target] of Object.entries(A1111_SAMPLER_ALIASES)) {
    if (alias.toLowerCase() === wanted) return target;
  }
  return undefined;
}

/**
 * AUTOMATIC1111 ≥ 1.9's sigma schedules (its `scheduler` field, GET /sdapi/v1/schedulers), those a
 * request here may name, in `modules/sd_schedulers.py`'s shape: "automatic" is each sampler's own,
 * "karras" picks the Karras variant of a sampler that has one (DPM++ 2M Karras, ρ = 7 as in
 * Karras et al. 2022, Eq. 5).
 */
export const A1111_SCHEDULES = [
  { name: 'automatic', label: 'Automatic', aliases: null, default_rho: -1, need_inner_model: false },
  { name: 'karras', label: 'Karras', aliases: null, default_rho: 7, need_inner_model: false },
] as const;

/**
 * ComfyUI's KSampler `sampler_name`s we run (its comfy/samplers.py KSAMPLER_NAMES), each as ours.
 * ComfyUI names the sigma schedule apart (`scheduler`); see resolveComfySampler.
 */
export const COMFY_SAMPLERS: Readonly<Record<string, SchedulerName>> = {
  euler: 'euler',
  euler_ancestral: 'euler_ancestral',
  heun: 'heun',
  dpmpp_2m: 'dpmpp_2m',
  ddim: 'ddim',
  lcm: 'lcm',
};

/**
 * ComfyUI's `scheduler`s (comfy/samplers.py SCHEDULER_NAMES) we accept. "karras" picks Karras
 * et al. 2022's sigmas (Eq. 5), which we run for DPM++ 2M only; the evenly spaced ones all mean
 * our scheduler's own diffusers spacing, which is close to ComfyUI's "normal" but not identical.
 */
export const COMFY_SCHEDULERS = ['normal', 'simple', 'sgm_uniform', 'ddim_uniform', 'karras'] as const;

/** ComfyUI's (sampler_name, scheduler) as one of ours; undefined for a pair we do not run. */
export function resolveComfySampler(sampler: string, scheduler: string): SchedulerName | undefined {
  const base = Object.hasOwn(COMFY_SAMPLERS, sampler) ? COMFY_SAMPLERS[sampler] : undefined;
  if (!base || !(COMFY_SCHEDULERS as readonly string[]).includes(scheduler)) return undefined;
  if (scheduler !== 'karras') return base;
  return base === 'dpmpp_2m' ? 'dpmpp_2m_karras' : undefined;
}

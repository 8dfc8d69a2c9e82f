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

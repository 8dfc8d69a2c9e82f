// ComfyUI's (sampler_name, scheduler) pairs onto our schedulers (shared/src/scheduler-names.ts).
import { describe, expect, it } from 'vitest';
import { COMFY_SAMPLERS, COMFY_SCHEDULERS, resolveComfySampler } from '../src/scheduler-names.ts';

describe('resolveComfySampler', () => {
  it('maps each sampler with an evenly spaced schedule to our scheduler of that algorithm', () => {
    expect(resolveComfySampler('euler', 'normal')).toBe('euler');
    expect(resolveComfySampler('euler_ancestral', 'simple')).toBe('euler_ancestral');
    expect(resolveComfySampler('dpmpp_2m', 'normal')).toBe('dpmpp_2m');
    expect(resolveComfySampler('ddim', 'ddim_uniform')).toBe('ddim');
    expect(resolveComfySampler('lcm', 'sgm_uniform')).toBe('lcm');
  });

  it('takes karras as Karras sigmas for DPM++ 2M only', () => {
    expect(resolveComfySampler('dpmpp_2m', 'karras')).toBe('dpmpp_2m_karras');
    expect(resolveComfySampler('euler', 'karras')).toBeUndefined();
  });

  it('knows no sampler or schedule it does not run, nor inherited property names', () => {
    expect(resolveComfySampler('uni_pc', 'normal')).toBeUndefined();
    expect(resolveComfySampler('euler', 'beta')).toBeUndefined();
    expect(resolveComfySampler('constructor', 'normal')).toBeUndefined();
    expect(Object.keys(COMFY_SAMPLERS)).toHaveLength(6);
    expect(COMFY_SCHEDULERS).toContain('karras');
  });
});

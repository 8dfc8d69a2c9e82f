// Behaviour of the schedulers around the numbers the parity suite checks: names, config parsing,
// spacing, img2img, noise draws. Expected values come from /work/shared/SD-NOTES.md §2 (derived
// from diffusers@58eb52c0 and PyTorch sources), quoted beside each assertion.
import { describe, expect, it } from 'vitest';
import { DdimScheduler } from '../src/schedulers/ddim.ts';
import { DpmSolverMultistepScheduler } from '../src/schedulers/dpm-solver-multistep.ts';
import { EulerScheduler } from '../src/schedulers/euler.ts';
import { EulerAncestralScheduler } from '../src/schedulers/euler-ancestral.ts';
import { fmaf } from '../src/schedulers/float32.ts';
import { HeunScheduler } from '../src/schedulers/heun.ts';
import { LcmScheduler } from '../src/schedulers/lcm.ts';
import { makeAlphasCumprod, makeBetas } from '../src/schedulers/noise-schedule.ts';
import { PndmScheduler } from '../src/schedulers/pndm.ts';
import { createScheduler } from '../src/schedulers/registry.ts';
import type { NoiseGenerator, StepOutput } from '../src/schedulers/scheduler.ts';
import { SchedulerConfig } from '../src/schedulers/scheduler-config.ts';

/** SD 1.5's scheduler_config.json (SD-NOTES §1.7). */
const SD15_JSON = {
  _class_name: 'PNDMScheduler',
  _diffusers_version: '0.6.0',
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  num_train_timesteps: 1000,
  set_alpha_to_one: false,
  skip_prk_steps: true,
  steps_offset: 1,
  trained_betas: null,
  clip_sample: false,
};
const sd15 = SchedulerConfig.parse(SD15_JSON);

/** Counts draws; returns zeros so results stay deterministic. */
function countingGenerator(): NoiseGenerator & { calls: number } {
  return {
    calls: 0,
    randn(shape) {
      this.calls++;
      return new Float32Array(shape.reduce((a, b) => a * b, 1));
    },
  };
}

describe('createScheduler', () => {
  it.each([
    ['pndm', PndmScheduler],
    ['ddim', DdimScheduler],
    ['euler', EulerScheduler],
    ['euler_ancestral', EulerAncestralScheduler],
    ['dpmpp_2m', DpmSolverMultistepScheduler],
    ['dpmpp_2m_karras', DpmSolverMultistepScheduler],
    ['lcm', LcmScheduler],
    ['heun', HeunScheduler],
  ])('maps our name %s to its implementation', (name, implementation) => {
    expect(createScheduler(name, sd15, 20)).toBeInstanceOf(implementation);
  });

  it.each([
    ['PLMS', PndmScheduler],
    ['DDIM', DdimScheduler],
    ['Euler', EulerScheduler],
    ['Euler a', EulerAncestralScheduler],
    ['euler A', EulerAncestralScheduler],
    ['DPM++ 2M', DpmSolverMultistepScheduler],
    ['DPM++ 2M Karras', DpmSolverMultistepScheduler],
    ['LCM', LcmScheduler],
    ['Heun', HeunScheduler],
  ])('accepts the AUTOMATIC1111 name %s', (name, implementation) => {
    expect(createScheduler(name, sd15, 20)).toBeInstanceOf(implementation);
  });

  it('gives "DPM++ 2M Karras" Karras sigmas and "DPM++ 2M" the plain ones', () => {
    // SD-NOTES §2.3, N=20 DPM++ 2M Karras.
    const karras = [
      999, 962, 921, 876, 827, 772, 710, 640, 561, 474, 380, 285, 197, 123, 69, 35, 15, 6, 2, 0,
    ];
    expect([...createScheduler('DPM++ 2M Karras', sd15, 20).timesteps]).toEqual(karras);
    const karrasConfig = SchedulerConfig.parse({ ...SD15_JSON, use_karras_sigmas: true });
    expect(createScheduler('DPM++ 2M', karrasConfig, 20).timesteps[1]).not.toBe(962);
  });

  it('throws an error naming the unknown scheduler and the accepted names', () => {
    expect(() => createScheduler('k_lms', sd15, 20)).toThrow(/unknown scheduler "k_lms".*"euler".*"Euler a"/);
  });

  it('rejects a step count the schedule cannot give', () => {
    expect(() => createScheduler('ddim', sd15, 0)).toThrow(RangeError);
    expect(() => createScheduler('euler', sd15, 1001)).toThrow(/1 to 1000; got 1001/);
    expect(() => createScheduler('lcm', sd15, 51)).toThrow(/must be 1 to 50, got 51/);
  });

  it('gives each job a fresh instance, so multistep state is not shared', () => {
    const sample = new Float32Array([1, -1]);
    const run = () => {
      const scheduler = createScheduler('pndm', sd15, 4);
      let x: Float32Array = sample;
      for (let i = 0; i < scheduler.timesteps.length; i++) x = scheduler.step(x, i, x).prevSample;
      return [...x];
    };
    expect(run()).toEqual(run());
  });
});

describe('SchedulerConfig', () => {
  it("fills diffusers' shared defaults and leaves class-specific ones to the class", () => {
    const config = SchedulerConfig.parse({});
    expect(config).toMatchObject({
      numTrainTimesteps: 1000,
      trainedBetas: null,
      predictionType: 'epsilon',
      stepsOffset: 0,
      rescaleBetasZeroSnr: false,
      useKarrasSigmas: false,
      finalSigmasType: 'zero',
      originalInferenceSteps: 50,
      timestepScaling: 10,
    });
    expect(config.timestepSpacing).toBeUndefined();
    expect(config.betaSchedule).toBeUndefined();
    expect(config.setAlphaToOne).toBeUndefined();
  });

  it('ignores keys it does not know, as from_config does', () => {
    const config = SchedulerConfig.parse({ ...SD15_JSON, some_future_option: 3 });
    expect(config).not.toHaveProperty('_class_name');
    expect(config).not.toHaveProperty('some_future_option');
    expect(config).toMatchObject({ betaSchedule: 'scaled_linear', stepsOffset: 1, setAlphaToOne: false });
  });

  it('treats null like a missing value', () => {
    const config = SchedulerConfig.parse({ use_karras_sigmas: null, sigma_min: null, trained_betas: null });
    expect(config).toMatchObject({ useKarrasSigmas: false, sigmaMin: undefined, trainedBetas: null });
  });

  it('refuses settings it does not implement, naming them', () => {
    const result = SchedulerConfig.safeParse({ thresholding: true });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({ path: ['thresholding'] });
    expect(result.error?.issues[0].message).toMatch(/thresholding is not supported/);
    expect(SchedulerConfig.safeParse({ prediction_type: 'flow' }).success).toBe(false);
  });

  it('applies the running class default when the file leaves a key out', () => {
    // SD-NOTES §2.2: SD 1.5's config has no timestep_spacing; Euler defaults to linspace, DDIM to leading.
    expect(createScheduler('euler', sd15, 20).timesteps[1]).toBeCloseTo(946.421, 3);
    expect(createScheduler('ddim', sd15, 20).timesteps[1]).toBe(901);
    const bare = SchedulerConfig.parse({});
    // DDIM's own defaults: leading, steps_offset 0; set_alpha_to_one true (the last step lands on ᾱ = 1).
    const ddim = createScheduler('ddim', bare, 10);
    expect([...ddim.timesteps]).toEqual([900, 800, 700, 600, 500, 400, 300, 200, 100, 0]);
  });
});

describe('timesteps', () => {
  it('spaces "leading" as SD 1.5 does, with steps_offset 1', () => {
    // SD-NOTES §2.2: N=50 → 981, 961, …, 21, 1.
    const timesteps = createScheduler('ddim', sd15, 50).timesteps;
    expect([timesteps[0], timesteps[1], timesteps[48], timesteps[49]]).toEqual([981, 961, 21, 1]);
  });

  it.each([
    [1, [999]],
    [3, [999, 666, 332]],
    [4, [999, 749, 499, 249]],
  ])('spaces "trailing" for %i steps as SD-Turbo expects', (steps, expected) => {
    const turbo = SchedulerConfig.parse({ ...SD15_JSON, timestep_spacing: 'trailing' });
    expect([...createScheduler('euler', turbo, steps).timesteps]).toEqual(expected);
  });

  it('rounds "linspace" for DDIM and keeps float32 points for Euler', () => {
    const linspace = SchedulerConfig.parse({ ...SD15_JSON, timestep_spacing: 'linspace' });
    // SD-NOTES §2.2: N=20 → 999, 946, 894, …, 53, 0.
    const ddim = createScheduler('ddim', linspace, 20).timesteps;
    expect([ddim[0], ddim[1], ddim[2], ddim[18], ddim[19]]).toEqual([999, 946, 894, 53, 0]);
    expect(createScheduler('euler', linspace, 20).timesteps[1]).toBe(Math.fround((999 / 19) * 18));
  });

  it('runs PNDM N + 1 times, repeating the second timestep', () => {
    // SD-NOTES §2.5 / reference README: 751, 501, 501, 251, 1.
    expect([...createScheduler('pndm', sd15, 4).timesteps]).toEqual([751, 501, 501, 251, 1]);
  });

  it('runs Heun 2N − 1 times', () => {
    const heun = createScheduler('heun', sd15, 3);
    expect(heun.timesteps).toHaveLength(5);
    expect(heun.timesteps[1]).toBe(heun.timesteps[2]);
    expect(heun.sigmas?.[heun.sigmas.length - 1]).toBe(0);
  });

  it("picks LCM's steps from its 50-step distillation schedule", () => {
    // SD-NOTES §2.11: N=4 → 999, 759, 499, 259.
    expect([...createScheduler('lcm', sd15, 4).timesteps]).toEqual([999, 759, 499, 259]);
  });
});

describe('noise levels', () => {
  it('reproduces the SD schedule end points', () => {
    // SD-NOTES §2.1: β[0] = 0.00084999995, β[999] = 0.011999999. ᾱ[999] = 0.0046600960 with the
    // AVX2 linspace (reference train_schedule.json); SD-NOTES' 0.0046600951 is the plain-kernel one.
    const betas = makeBetas({ ...sd15, betaStart: 0.00085, betaEnd: 0.012, betaSchedule: 'scaled_linear' });
    expect(betas[0]).toBeCloseTo(0.00084999995, 10);
    expect(betas[999]).toBeCloseTo(0.011999999, 9);
    expect(makeAlphasCumprod(betas)[999]).toBeCloseTo(0.004660096, 9);
  });

  it('starts Euler at its largest σ for linspace, and at √(σ² + 1) of it for leading', () => {
    // SD-NOTES §2.1/§2.3: σ(999) = σ_max = 14.614647.
    expect(createScheduler('euler', sd15, 20).initNoiseSigma).toBeCloseTo(14.614647, 5);
    const leading = createScheduler(
      'euler',
      SchedulerConfig.parse({ ...SD15_JSON, timestep_spacing: 'leading' }),
      20,
    );
    // Leading starts at t = 951, below σ_max.
    const sigma = leading.sigmas?.[0] ?? Number.NaN;
    expect(leading.timesteps[0]).toBe(951);
    expect(leading.initNoiseSigma).toBeCloseTo(Math.sqrt(sigma * sigma + 1), 5);
    expect(createScheduler('ddim', sd15, 20).initNoiseSigma).toBe(1);
  });

  it('pins ᾱ_T at 2⁻²⁴ when betas are rescaled to zero terminal SNR', () => {
    const zeroSnr = SchedulerConfig.parse({
      ...SD15_JSON,
      rescale_betas_zero_snr: true,
      timestep_spacing: 'trailing',
    });
    // σ = √((1 − 2⁻²⁴)/2⁻²⁴) ≈ 4096.
    expect(createScheduler('euler', zeroSnr, 4).sigmas?.[0]).toBeCloseTo(4096, 2);
  });

  it('builds squaredcos_cap_v2 betas within (0, 0.999]', () => {
    const betas = makeBetas({ ...sd15, betaStart: 0, betaEnd: 0, betaSchedule: 'squaredcos_cap_v2' });
    expect(Math.min(...betas)).toBeGreaterThan(0);
    expect(betas[999]).toBeCloseTo(0.999, 6);
  });

  it('rounds a·b + c once, as the FMA in torch.linspace does', () => {
    // The double sum of this product and addend lands on a float32 tie that the exact value is below.
    expect(fmaf(1 + 2 ** -15, 1 - 2 ** -15, 2 ** 24 + 2)).toBe(2 ** 24 + 2);
  });
});

describe('img2img', () => {
  it('starts at t_start = N − ⌊N·strength⌋ and noises the latents to that level', () => {
    // SD-NOTES §2.14: N=50, strength 0.75 → t_start = 13, first t = 721.
    const ddim = createScheduler('ddim', sd15, 50, { strength: 0.75 });
    expect(ddim.beginIndex).toBe(13);
    expect(ddim.timesteps[ddim.beginIndex]).toBe(721);
    const noisy = ddim.addNoise(new Float32Array([1]), new Float32Array([0]), ddim.beginIndex);
    expect(noisy[0]).toBeGreaterThan(0);
    expect(noisy[0]).toBeLessThan(1);
  });

  it('adds σ·noise without the init_noise_sigma factor for σ-space schedulers', () => {
    const euler = createScheduler('euler', sd15, 10, { strength: 0.5 });
    const noisy = euler.addNoise(new Float32Array([2]), new Float32Array([1]), euler.beginIndex);
    expect(noisy[0]).toBeCloseTo(2 + (euler.sigmas?.[5] ?? Number.NaN), 6);
  });

  it('skips whole Heun steps, two evaluations each', () => {
    expect(createScheduler('heun', sd15, 10, { strength: 0.5 }).beginIndex).toBe(10);
  });

  it('shortens the LCM schedule instead of skipping into it', () => {
    // origin = the 25 lowest distilled timesteps; picks ⌊[0, 6.25, 12.5, 18.75]⌋.
    const lcm = createScheduler('lcm', sd15, 4, { strength: 0.5 });
    expect(lcm.beginIndex).toBe(0);
    expect([...lcm.timesteps]).toEqual([499, 379, 259, 139]);
  });

  it('refuses a strength that leaves no step to run', () => {
    expect(() => createScheduler('euler', sd15, 4, { strength: 0.2 })).toThrow(/leaves no step/);
    expect(() => createScheduler('euler', sd15, 4, { strength: 1.5 })).toThrow(/\(0, 1\]/);
  });
});

describe('step', () => {
  const latents = new Float32Array([0.5, -0.25]);

  it('draws fresh noise on every Euler ancestral step, the last one included', () => {
    const scheduler = createScheduler('euler_ancestral', sd15, 3);
    const generator = countingGenerator();
    for (let i = 0; i < 3; i++) scheduler.step(latents, i, latents, generator);
    expect(generator.calls).toBe(3);
  });

  it('draws LCM noise on every step but the last, which returns the denoised latents', () => {
    const scheduler = createScheduler('lcm', sd15, 3);
    const generator = countingGenerator();
    let last: StepOutput = { prevSample: latents, denoised: latents };
    for (let i = 0; i < 3; i++) last = scheduler.step(latents, i, latents, generator);
    expect(generator.calls).toBe(2);
    expect(last.prevSample).toBe(last.denoised);
  });

  it('needs a generator only where noise is drawn', () => {
    expect(() => createScheduler('euler_ancestral', sd15, 3).step(latents, 0, latents)).toThrow(
      /pass a generator/,
    );
    expect(() => createScheduler('ddim', sd15, 3, { eta: 1 }).step(latents, 0, latents)).toThrow(/eta > 0/);
    expect(() => createScheduler('ddim', sd15, 3).step(latents, 0, latents)).not.toThrow();
  });

  it('ends DPM-Solver++ on its data prediction when the final σ is 0', () => {
    const scheduler = createScheduler('dpmpp_2m', sd15, 1);
    const { prevSample, denoised } = scheduler.step(latents, 0, latents);
    expect([...prevSample]).toEqual([...denoised]);
  });

  it('estimates x0 = x − σ·ε for Euler', () => {
    const scheduler = createScheduler('euler', sd15, 4);
    const sigma = scheduler.sigmas?.[0] ?? Number.NaN;
    const { denoised } = scheduler.step(new Float32Array([1]), 0, new Float32Array([sigma]));
    expect(denoised[0]).toBeCloseTo(0, 5);
  });
});

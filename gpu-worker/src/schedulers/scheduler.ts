// What the denoise loop sees of a scheduler. One instance per job: multistep state (PNDM's
// ets, DPM-Solver's previous x0, Heun's first half-step) lives in it.
//
//   let latents = noise × initNoiseSigma            (img2img: addNoise(encoded, noise, beginIndex))
//   for i in beginIndex ..< timesteps.length:        every entry is one model evaluation
//     output  = unet(scaleModelInput(latents, i), timesteps[i])
//     latents = step(output, i, latents, generator).prevSample

export interface NoiseGenerator {
  /** Standard normal draws; `torch.randn(shape, generator)` for diffusers parity. */
  randn(shape: readonly number[]): Float32Array;
}

export interface StepOutput {
  /** The latents for the next model evaluation (x_{t−1}); after the last step, the result. */
  prevSample: Float32Array;
  /** This step's estimate of the clean latents x0 (LCM: `denoised`, what its pipeline decodes). */
  denoised: Float32Array;
}

export interface Scheduler {
  /** The timestep passed to the model at each evaluation (PNDM: N+1 entries; Heun: 2N−1). */
  readonly timesteps: Float64Array;
  /** σ-parameterised schedulers (Euler, Heun, DPM-Solver): σ per evaluation, then the final σ. */
  readonly sigmas?: Float32Array;
  /** Standard deviation to scale N(0, 1) starting noise by (σ_max-ish for σ-space schedulers). */
  readonly initNoiseSigma: number;
  /** The first index of `timesteps` to evaluate: 0, or later when img2img keeps part of the image. */
  readonly beginIndex: number;
  /** The model input for evaluation `stepIndex` (σ-space schedulers divide by √(σ²+1)). */
  scaleModelInput(sample: Float32Array, stepIndex: number): Float32Array;
  step(
    modelOutput: Float32Array,
    stepIndex: number,
    sample: Float32Array,
    generator?: NoiseGenerator,
  ): StepOutput;
  /** img2img: noises clean latents to the level of `timesteps[stepIndex]`. */
  addNoise(originalSamples: Float32Array, noise: Float32Array, stepIndex: number): Float32Array;
}

export interface SchedulerOptions {
  /**
   * img2img: the fraction of the schedule to run (1 = all of it). diffusers
   * `StableDiffusionImg2ImgPipeline.get_timesteps`; LCM instead picks its timesteps from the first
   * `strength` of its distillation schedule.
   */
  strength?: number;
  /** DDIM's η (Song et al. 2020, Eq. 16): 0 is deterministic DDIM, 1 is DDPM-like. */
  eta?: number;
}

/**
 * `get_timesteps`: with strength s, skip the first N − ⌊N·s⌋ inference steps, each of which is
 * `order` model evaluations long.
 */
export function beginIndexForStrength(numInferenceSteps: number, strength: number, order: number): number {
  if (!(strength > 0 && strength <= 1)) {
    throw new RangeError(`strength must be in (0, 1]; got ${strength}`);
  }
  const initTimestep = Math.min(Math.floor(numInferenceSteps * strength), numInferenceSteps);
  if (initTimestep < 1) {
    throw new RangeError(
      `strength ${strength} with ${numInferenceSteps} steps leaves no step to run; raise either`,
    );
  }
  return (numInferenceSteps - initTimestep) * order;
}

export function checkInferenceSteps(numInferenceSteps: number, max: number): void {
  if (!Number.isInteger(numInferenceSteps) || numInferenceSteps < 1 || numInferenceSteps > max) {
    throw new RangeError(`numInferenceSteps must be an integer from 1 to ${max}; got ${numInferenceSteps}`);
  }
}

/** A typed-array map that returns float32 storage, the dtype the latents live in. */
export function mapLatents(length: number, value: (i: number) => number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = value(i);
  return out;
}

export function requireGenerator(generator: NoiseGenerator | undefined, who: string): NoiseGenerator {
  if (!generator) throw new Error(`${who} draws fresh noise every step: pass a generator to step()`);
  return generator;
}

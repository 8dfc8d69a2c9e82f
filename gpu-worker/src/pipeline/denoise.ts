// The denoise loop's unit of work: one scheduler step for a set of images, run as ONE batched UNet
// call. A lone request is a set of one; the gpu-worker's step-level batcher puts images of
// different jobs (different schedulers, guidance scales, step counts) into the same call. Every
// image keeps its own scheduler and generator, so batching never changes its pixels' math.

import type { PasteTarget } from '../inpaint/inpaint-plan.ts';
import type { Scheduler } from '../schedulers/scheduler.ts';
import { applyGuidance } from './guidance.ts';

export interface UnetCall {
  sample: Float32Array;
  batch: number;
  height: number;
  width: number;
  timesteps: readonly number[];
  hiddenStates: Float32Array;
  sequenceLength: number;
  timestepCond?: Float32Array;
  /** SDXL: pooled prompt embeddings and size conditioning, one row per sample row. */
  textEmbeds?: Float32Array;
  timeIds?: Float32Array;
}

export type NoisePredictor = (input: UnetCall) => Promise<Float32Array>;

export interface DenoisingImage {
  /** Current latents [1, c, h, w]. */
  latents: Float32Array;
  readonly scheduler: Scheduler;
  /** Index into scheduler.timesteps of the next model evaluation. */
  stepIndex: number;
  readonly generator: { randn(shape: readonly number[]): Float32Array };
  readonly guidanceScale: number;
  readonly guidanceRescale: number;
  /** Conditional hidden states [sequenceLength, hidden]; `uncond` present only when guided. */
  readonly cond: Float32Array;
  readonly uncond?: Float32Array;
  readonly sequenceLength: number;
  /** LCM's guidance embedding, when the UNet takes one. */
  readonly timestepCond?: Float32Array;
  /** SDXL: the pooled prompt embeddings (`uncondPooled` when guided) and the `time_ids`. */
  readonly condPooled?: Float32Array;
  readonly uncondPooled?: Float32Array;
  readonly timeIds?: Float32Array;
  /** Latent height and width. */
  readonly height: number;
  readonly width: number;
  /** The latest x0 estimate (what LCM decodes, and what previews show). */
  denoised?: Float32Array;
  /** Inpainting with a plain UNet: the area outside the mask, put back after every step. */
  readonly keep?: KeptLatents;
  /**
   * An inpainting UNet's extra input, [1 + c, h, w]: the latent mask (1 = repaint) and the masked
   * image's latent, joined after the latent channels of each of this image's rows.
   */
  readonly unetCondition?: Float32Array;
  /** Inpainting: where the decoded picture goes (inpaint/inpaint-plan.ts). */
  readonly paste?: PasteTarget;
}

export interface KeptLatents {
  /** [h × w] latent mask, 1 = repaint (inpaint/latent-mask.ts). */
  mask: Float32Array;
  /** The init image's scaled latent, and the noise that brought it to the first timestep. */
  clean: Float32Array;
  noise: Float32Array;
}

/**
 * diffusers' inpainting for UNets without mask inputs: after each step, the latents outside the
 * mask become the init latent noised to the level the next step expects (the clean latent after
 * the last), so only the masked area is ever denoised from the prompt. An inpainting UNet sees
 * the mask itself and is not blended (diffusers blends only 4-channel UNets).
 */
export function keepUnmasked(img: DenoisingImage): void {
  const { keep, scheduler, stepIndex } = img;
  if (!keep) return;
  const kept =
    stepIndex < scheduler.timesteps.length
      ? scheduler.addNoise(keep.clean, keep.noise, stepIndex)
      : keep.clean;
  const area = keep.mask.length;
  // A new array: a scheduler may hold on to the one its step returned.
  const latents = Float32Array.from(img.latents);
  for (let i = 0; i < latents.length; i++) {
    if (keep.mask[i % area] === 0) latents[i] = kept[i];
  }
  img.latents = latents;
}

/**
 * Ends an image before its last step, as A1111's interrupt does: its latest estimate of the clean
 * latent (the sampler's `denoised`) is what gets decoded; before any step, the latents as they are.
 * False when it had already finished.
 */
export function endEarly(image: DenoisingImage): boolean {
  if (isFinished(image)) return false;
  if (image.denoised) image.latents = image.denoised;
  image.stepIndex = image.scheduler.timesteps.length;
  return true;
}

export function isFinished(image: DenoisingImage): boolean {
  return image.stepIndex >= image.scheduler.timesteps.length;
}

/** Images can share a UNet call when their latents and text sequences have the same shape. */
export function batchKey(image: DenoisingImage): string {
  const channels = image.unetCondition ? 'inpainting' : 'latent';
  return `${image.height}x${image.width}:${image.sequenceLength}:${channels}`;
}

/**
 * Builds the hidden-state batch for a set of images ([uncond, cond] per guided image, as the
 * diffusers pipeline orders them). It only changes when the set does, so it is kept between steps.
 */
export class HiddenStateBatch {
  private images: readonly DenoisingImage[] = [];
  private buffer = new Float32Array(0);

  for(images: readonly DenoisingImage[]): Float32Array {
    if (images.length === this.images.length && images.every((img, i) => img === this.images[i]))
      return this.buffer;
    const rows = images.flatMap((img) => (img.uncond ? [img.uncond, img.cond] : [img.cond]));
    this.buffer = new Float32Array(rows.reduce((n, r) => n + r.length, 0));
    let at = 0;
    for (const row of rows) {
      this.buffer.set(row, at);
      at += row.length;
    }
    this.images = [...images];
    return this.buffer;
  }
}

/** One row per sample row, joined; undefined unless every row has one. */
function rowsOf(values: readonly Float32Array[], rows: number): Float32Array | undefined {
  if (values.length !== rows || rows === 0) return undefined;
  const joined = new Float32Array(rows * values[0].length);
  for (const [i, v] of values.entries()) joined.set(v, i * v.length);
  return joined;
}

/** Runs one step for every image in `images` (all unfinished, all with the same batchKey). */
export async function denoiseStep(
  images: readonly DenoisingImage[],
  predictNoise: NoisePredictor,
  hiddenStates: HiddenStateBatch = new HiddenStateBatch(),
): Promise<void> {
  const first = images[0];
  const latentSize = first.latents.length;
  // An inpainting UNet's sample row is the latent followed by the image's mask and masked latent.
  const rowSize = latentSize + (first.unetCondition?.length ?? 0);
  const rows = images.reduce((n, img) => n + (img.uncond ? 2 : 1), 0);
  const sample = new Float32Array(rows * rowSize);
  const timesteps: number[] = [];
  const conds: Float32Array[] = [];
  const pooled: Float32Array[] = [];
  const timeIds: Float32Array[] = [];
  let row = 0;
  for (const img of images) {
    const modelInput = img.scheduler.scaleModelInput(img.latents, img.stepIndex);
    const t = img.scheduler.timesteps[img.stepIndex];
    for (let copy = img.uncond ? 2 : 1; copy > 0; copy--) {
      sample.set(modelInput, row * rowSize);
      if (img.unetCondition) sample.set(img.unetCondition, row * rowSize + latentSize);
      row++;
      timesteps.push(t);
      if (img.timestepCond) conds.push(img.timestepCond);
      if (img.timeIds) timeIds.push(img.timeIds);
    }
    // The same [uncond, cond] order as the hidden states.
    if (img.uncondPooled) pooled.push(img.uncondPooled);
    if (img.condPooled) pooled.push(img.condPooled);
  }

  const output = await predictNoise({
    sample,
    batch: rows,
    height: first.height,
    width: first.width,
    timesteps,
    hiddenStates: hiddenStates.for(images),
    sequenceLength: first.sequenceLength,
    timestepCond: rowsOf(conds, rows),
    textEmbeds: rowsOf(pooled, rows),
    timeIds: rowsOf(timeIds, rows),
  });

  row = 0;
  for (const img of images) {
    let noisePred: Float32Array;
    if (img.uncond) {
      const uncond = output.subarray(row * latentSize, (row + 1) * latentSize);
      const cond = output.subarray((row + 1) * latentSize, (row + 2) * latentSize);
      noisePred = applyGuidance(uncond, cond, img.guidanceScale, img.guidanceRescale);
      row += 2;
    } else {
      noisePred = output.slice(row * latentSize, (row + 1) * latentSize);
      row += 1;
    }
    const { prevSample, denoised } = img.scheduler.step(noisePred, img.stepIndex, img.latents, img.generator);
    img.latents = prevSample;
    img.denoised = denoised;
    img.stepIndex++;
    keepUnmasked(img);
  }
}

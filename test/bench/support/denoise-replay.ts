// generate()'s math without the model, to split the pipeline's own time into its parts: latents
// preparation, the denoise loop (the real `denoiseStep`, fed the UNet outputs recorded from a real
// generation) and, inside it, scaleModelInput, batch building, guidance and scheduler.step, then
// the decode step's latent scaling and pixel conversion, and the PNG encoding (wall and CPU time,
// since sharp encodes on libuv's thread pool). Every part is the median of REPS replays.
import { encodeImage } from '../../../gpu-worker/src/image/image-codec.ts';
import { decodedToRgb } from '../../../gpu-worker/src/image/pixels.ts';
import { TorchGenerator } from '../../../gpu-worker/src/noise/torch-generator.ts';
import {
  type DenoisingImage,
  denoiseStep,
  HiddenStateBatch,
} from '../../../gpu-worker/src/pipeline/denoise.ts';
import { applyGuidance } from '../../../gpu-worker/src/pipeline/guidance.ts';
import { initialLatents } from '../../../gpu-worker/src/pipeline/prepare-latents.ts';
import { createScheduler } from '../../../gpu-worker/src/schedulers/registry.ts';
import type { SchedulerConfig } from '../../../gpu-worker/src/schedulers/scheduler-config.ts';
import { cpuMs } from './session-calls.ts';
import { median } from './stats.ts';

const REPS = 21;

export interface ReplayInput {
  schedulerConfig: SchedulerConfig;
  scheduler: string;
  steps: number;
  seed: number;
  guidanceScale: number;
  guidanceRescale: number;
  /** [1, c, h, w] of the latents; width and height of the image. */
  latentShape: readonly number[];
  width: number;
  height: number;
  vaeScalingFactor: number;
  /** Hidden states per prompt: sequence length × hidden size. */
  hiddenLength: number;
  sequenceLength: number;
  /** The UNet's outputs, [2, c, h, w] per step ([uncond, cond]), and the VAE decoder's output. */
  unetOutputs: readonly Float32Array[];
  decoded: Float32Array;
  /** The PNG text chunks of the generated image, to encode the same file. */
  pngText: Record<string, string>;
}

export interface ReplayMs {
  /** TorchGenerator, createScheduler and initialLatents for one seed. */
  prepareLatents: number;
  /** All steps of the real `denoiseStep` with the recorded outputs in place of the UNet. */
  denoiseLoop: number;
  scaleModelInput: number;
  /** The batch-2 sample (two copies of the model input) and its timesteps. */
  batchBuilding: number;
  guidance: number;
  schedulerStep: number;
  /** Step 4 without the VAE: latents / scaling factor, then decodedToRgb. */
  decodePixels: number;
  /** Step 5: encodeImage to PNG with the text chunks, wall and CPU ms. */
  png: number;
  pngCpu: number;
}

const now = () => performance.now();

function start(input: ReplayInput) {
  const generator = new TorchGenerator(input.seed);
  const scheduler = createScheduler(input.scheduler, input.schedulerConfig, input.steps);
  return { generator, scheduler, latents: initialLatents(generator, scheduler, input.latentShape) };
}

/** Keeps results observable so no replayed work can be optimised away. */
let sink = 0;

async function replayDenoiseLoop(input: ReplayInput): Promise<number> {
  const { generator, scheduler, latents } = start(input);
  const image: DenoisingImage = {
    latents,
    scheduler,
    stepIndex: scheduler.beginIndex,
    generator,
    guidanceScale: input.guidanceScale,
    guidanceRescale: input.guidanceRescale,
    cond: new Float32Array(input.hiddenLength),
    uncond: new Float32Array(input.hiddenLength),
    sequenceLength: input.sequenceLength,
    height: input.latentShape[2],
    width: input.latentShape[3],
  };
  const hiddenStates = new HiddenStateBatch();
  let step = 0;
  const t = now();
  while (image.stepIndex < scheduler.timesteps.length) {
    const output = input.unetOutputs[step++];
    await denoiseStep([image], async () => output, hiddenStates);
  }
  const ms = now() - t;
  sink += image.latents[0];
  return ms;
}

type Parts = Pick<ReplayMs, 'scaleModelInput' | 'batchBuilding' | 'guidance' | 'schedulerStep'>;

function replayParts(input: ReplayInput): Parts {
  const { generator, scheduler, latents } = start(input);
  const ms = { scaleModelInput: 0, batchBuilding: 0, guidance: 0, schedulerStep: 0 };
  const size = latents.length;
  let x = latents;
  for (let i = scheduler.beginIndex; i < scheduler.timesteps.length; i++) {
    let t = now();
    const modelInput = scheduler.scaleModelInput(x, i);
    ms.scaleModelInput += now() - t;
    t = now();
    const sample = new Float32Array(2 * size);
    sample.set(modelInput, 0);
    sample.set(modelInput, size);
    const timesteps = [scheduler.timesteps[i], scheduler.timesteps[i]];
    ms.batchBuilding += now() - t;
    sink += sample[size] + timesteps[1];
    const output = input.unetOutputs[i - scheduler.beginIndex];
    t = now();
    const noisePred = applyGuidance(
      output.subarray(0, size),
      output.subarray(size, 2 * size),
      input.guidanceScale,
      input.guidanceRescale,
    );
    ms.guidance += now() - t;
    t = now();
    x = scheduler.step(noisePred, i, x, generator).prevSample;
    ms.schedulerStep += now() - t;
  }
  sink += x[0];
  return ms;
}

function replayDecodePixels(input: ReplayInput, latents: Float32Array): { ms: number; rgb: Uint8Array } {
  const t = now();
  const scaled = latents.map((v) => v / input.vaeScalingFactor);
  const rgb = decodedToRgb(input.decoded, input.width, input.height);
  const ms = now() - t;
  sink += scaled[0];
  return { ms, rgb };
}

async function replayPng(input: ReplayInput, rgb: Uint8Array): Promise<{ png: number; pngCpu: number }> {
  const t = now();
  const cpu = cpuMs();
  const png = await encodeImage(rgb, input.width, input.height, { format: 'png', text: input.pngText });
  const times = { png: now() - t, pngCpu: cpuMs() - cpu };
  sink += png.length;
  return times;
}

export async function replayPipelineMath(input: ReplayInput): Promise<ReplayMs> {
  const samples: ReplayMs[] = [];
  // One more replay than timed: the first warms the code paths.
  for (let rep = 0; rep <= REPS; rep++) {
    const t = now();
    const { latents } = start(input);
    const prepareLatents = now() - t;
    const denoiseLoop = await replayDenoiseLoop(input);
    const parts = replayParts(input);
    const decode = replayDecodePixels(input, latents);
    const png = await replayPng(input, decode.rgb);
    if (rep > 0) samples.push({ prepareLatents, denoiseLoop, ...parts, decodePixels: decode.ms, ...png });
  }
  if (Number.isNaN(sink)) console.log('(replay produced NaN latents)');
  const keys = Object.keys(samples[0]) as (keyof ReplayMs)[];
  return Object.fromEntries(keys.map((k) => [k, median(samples.map((s) => s[k]))])) as unknown as ReplayMs;
}

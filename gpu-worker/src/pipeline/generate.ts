// The Stable Diffusion recipe, text (and optionally an image) to images, as one numbered function
// with the denoise loop in view. It follows diffusers' `OnnxStableDiffusionPipeline.__call__` and
// AUTOMATIC1111's prompt handling; the model arrives as functions, so the math here is testable.
import { formatInfotext } from '@latent-edge/shared/infotext';
import type { OutputFormat } from '@latent-edge/shared/protocol/generation-request';
import type { SchedulerName } from '@latent-edge/shared/scheduler-names';
import { CONTENT_TYPES, decodeImage, encodeImage } from '../image/image-codec.ts';
import { decodedToRgb, rgbToPlanes } from '../image/pixels.ts';
import {
  type InpaintOptions,
  type InpaintPlan,
  pasteInpainted,
  planInpaint,
} from '../inpaint/inpaint-plan.ts';
import { replaceMaskedLatent } from '../inpaint/masked-content.ts';
import { type Extension, outpaintCanvas } from '../inpaint/outpaint-canvas.ts';
import { maskedImagePlanes, unetCondition } from '../inpaint/unet-condition.ts';
import type { DiffusionModel } from '../model/diffusion-model.ts';
import { TorchGenerator } from '../noise/torch-generator.ts';
import { createScheduler } from '../schedulers/registry.ts';
import {
  type DenoisingImage,
  denoiseStep,
  HiddenStateBatch,
  isFinished,
  type KeptLatents,
} from './denoise.ts';
import { type EncodedPrompts, encodePrompts, type PromptSource } from './encode-prompt.ts';
import { guidanceScaleEmbedding, usesGuidance } from './guidance.ts';
import { img2imgStart, initialLatents } from './prepare-latents.ts';
import { sizeConditioning } from './size-conditioning.ts';
import { TextEncoderCache } from './text-encoder-cache.ts';

export interface GenerateRequest {
  prompt: PromptSource;
  negativePrompt: PromptSource;
  width: number;
  height: number;
  steps: number;
  guidanceScale: number;
  guidanceRescale: number;
  scheduler: SchedulerName;
  /** One image per seed. */
  seeds: readonly number[];
  outputFormat: OutputFormat;
  /** img2img: the init image file (PNG/JPEG/WebP) and how much of it to repaint. */
  initImage?: Uint8Array;
  strength?: number;
  /** Inpainting: repaint only where the mask says (needs an init image). */
  inpaint?: InpaintOptions;
  /**
   * Outpainting: the init image fills the canvas less these pixels on each side, and the border
   * is inpainted with this blur (0 when absent) and masked content (`original`).
   */
  outpaint?: Extension & Pick<InpaintOptions, 'blur' | 'maskedContent'>;
  /** Prompt text for the PNG's A1111 `parameters` chunk (the pipeline itself sees only ids). */
  promptText?: string;
  negativePromptText?: string;
  signal?: AbortSignal;
  /** Called after each denoise step. */
  onStep?: (step: number, total: number) => void;
  /** Send a preview frame every this many steps to the job's listeners (0 or absent: none). */
  previewEvery?: number;
}

export interface GeneratedImage {
  seed: number;
  bytes: Uint8Array;
  contentType: string;
  width: number;
  height: number;
}

export interface GenerateResult {
  images: GeneratedImage[];
  timingsMs: { encode: number; denoise: number; decode: number; image: number };
  embeddingsFromCache: boolean;
  promptEmbedding: Float32Array;
  negativeEmbedding?: Float32Array;
}

const defaultCache = new TextEncoderCache();

export async function generate(
  model: DiffusionModel,
  request: GenerateRequest,
  cache: TextEncoderCache = defaultCache,
): Promise<GenerateResult> {
  const timer = new StageTimer();

  // 1. Encode prompt: text encoder once per distinct chunk; [uncond, cond] only when guided.
  const prompts = await encodeRequestPrompts(model, request, cache);

  // 2. Prepare latents: per seed, a generator, a fresh scheduler and the starting latents.
  const images = await prepareImages(model, request, prompts);
  const encode = timer.lap();

  // 3. Denoise: every image of the request in one batched UNet call per step.
  const hiddenStates = new HiddenStateBatch();
  const total = images[0].scheduler.timesteps.length - images[0].scheduler.beginIndex;
  for (let step = 1; !isFinished(images[0]); step++) {
    request.signal?.throwIfAborted();
    await denoiseStep(images, (input) => model.predictNoise(input), hiddenStates);
    request.onStep?.(step, total);
  }
  const denoise = timer.lap();

  // 4. Decode: latents / scaling_factor through the VAE decoder, one image at a time.
  const decoded = await decodeImages(model, images, request);
  const decode = timer.lap();

  // 5. Encode image: PNG (with A1111 `parameters` and our JSON), WebP or JPEG.
  const results = await encodeImages(model, decoded, request);

  return {
    images: results,
    timingsMs: { encode, denoise, decode, image: timer.lap() },
    embeddingsFromCache: prompts.fromCache,
    promptEmbedding: prompts.promptEmbedding,
    negativeEmbedding: prompts.negativeEmbedding,
  };
}

/** Milliseconds since the previous lap. */
export class StageTimer {
  private last = performance.now();

  lap(): number {
    const now = performance.now();
    const elapsed = now - this.last;
    this.last = now;
    return elapsed;
  }
}

export function encodeRequestPrompts(
  model: DiffusionModel,
  request: GenerateRequest,
  cache: TextEncoderCache,
): Promise<EncodedPrompts> {
  const guided = usesGuidance(request.guidanceScale, model.spec.timestepCondDim !== undefined);
  return encodePrompts(model, request.prompt, request.negativePrompt, guided, cache);
}

/** The client's pictures, decoded: the init image's RGB at the output size and inpainting's plan. */
export interface DecodedInputs {
  init?: Uint8Array;
  plan?: InpaintPlan;
}

/** Decodes the init image, mask and outpainting canvas (sharp only; no model session runs). */
export async function decodeInputs(request: GenerateRequest): Promise<DecodedInputs> {
  const { initImage, inpaint } = await outpainted(request);
  const init = initImage ? await decodeImage(initImage, request.width, request.height) : undefined;
  const plan = init && inpaint ? await planInpaint(init, inpaint, request.width, request.height) : undefined;
  return { init, plan };
}

/** Step 2: one DenoisingImage per seed, with its own generator, scheduler and latents. */
export async function prepareImages(
  model: DiffusionModel,
  request: GenerateRequest,
  prompts: EncodedPrompts,
  /** The request's pictures, already decoded (the step batcher does it off its loop). */
  inputs?: DecodedInputs,
): Promise<DenoisingImage[]> {
  const { spec, folder } = model;
  const height = request.height / 8;
  const width = request.width / 8;
  const latentShape = [1, spec.latentChannels, height, width];
  const timestepCond = spec.timestepCondDim
    ? guidanceScaleEmbedding(request.guidanceScale, spec.timestepCondDim)
    : undefined;
  const timeIds = spec.timeIdsSize ? sizeConditioning(request.width, request.height) : undefined;
  const { init, plan } = inputs ?? (await decodeInputs(request));
  const encodeRgb = plan?.rgb ?? init;
  const planes = encodeRgb && rgbToPlanes(encodeRgb, request.width, request.height);
  const encodedInit = planes ? await model.encodeImage(planes, request.height, request.width) : undefined;
  const unetCondition = await inpaintingUnetCondition(model, request, plan, planes);
  return request.seeds.map((seed) => {
    const generator = new TorchGenerator(seed);
    const scheduler = createScheduler(request.scheduler, model.schedulerConfig, request.steps, {
      strength: encodedInit ? request.strength : undefined,
    });
    let latents: Float32Array;
    let keep: KeptLatents | undefined;
    if (encodedInit) {
      // latent_noise / latent_nothing: the masked blocks of the clean latent replaced before noising.
      const mask = plan?.latentMask;
      const replace =
        mask && plan.content === 'latent_noise'
          ? (clean: Float32Array) =>
              replaceMaskedLatent(clean, mask, spec.latentChannels, generator.randn(latentShape))
          : mask && plan.content === 'latent_nothing'
            ? (clean: Float32Array) => replaceMaskedLatent(clean, mask, spec.latentChannels, 0)
            : undefined;
      const start = img2imgStart(
        generator,
        scheduler,
        encodedInit,
        folder.vaeScalingFactor,
        latentShape,
        replace,
      );
      latents = start.latents;
      if (mask && !unetCondition) keep = { mask, clean: start.clean, noise: start.noise };
    } else {
      latents = initialLatents(generator, scheduler, latentShape);
    }
    return {
      latents,
      scheduler,
      stepIndex: scheduler.beginIndex,
      generator,
      guidanceScale: request.guidanceScale,
      guidanceRescale: request.guidanceRescale,
      cond: prompts.cond,
      uncond: prompts.uncond,
      condPooled: prompts.condPooled,
      uncondPooled: prompts.uncondPooled,
      sequenceLength: prompts.sequenceLength,
      timestepCond,
      timeIds,
      height,
      width,
      keep,
      unetCondition,
      paste: plan?.paste,
    };
  });
}

/**
 * An inpainting UNet's mask and masked-image latent for this request; without a mask the whole
 * picture is repainted from a blank image. Undefined for a plain UNet.
 */
async function inpaintingUnetCondition(
  model: DiffusionModel,
  request: GenerateRequest,
  plan: InpaintPlan | undefined,
  planes: Float32Array | undefined,
): Promise<Float32Array | undefined> {
  const { spec, folder } = model;
  if (spec.unetInputChannels === spec.latentChannels) return undefined;
  const { width, height } = request;
  const latentMask = plan?.latentMask ?? new Float32Array((width / 8) * (height / 8)).fill(1);
  const masked =
    plan && planes ? maskedImagePlanes(planes, plan.pixelMask) : new Float32Array(3 * width * height);
  const encoded = await model.encodeImage(masked, height, width);
  return unetCondition(latentMask, encoded, folder.vaeScalingFactor);
}

/** The init image and inpainting to use: for outpainting, the extended canvas and its border. */
async function outpainted(request: GenerateRequest): Promise<Pick<GenerateRequest, 'initImage' | 'inpaint'>> {
  if (!request.outpaint || !request.initImage) return request;
  const canvas = await outpaintCanvas(request.initImage, request.outpaint, request.width, request.height);
  return {
    initImage: canvas.image,
    inpaint: {
      mask: canvas.mask,
      source: 'luminance',
      blur: request.outpaint.blur,
      maskedContent: request.outpaint.maskedContent,
    },
  };
}

/** Step 4: VAE-decodes each finished image (latents / scaling factor) to RGB bytes. */
export async function decodeImages(
  model: DiffusionModel,
  images: readonly DenoisingImage[],
  request: GenerateRequest,
): Promise<Uint8Array[]> {
  const decoded: Uint8Array[] = [];
  for (const image of images) {
    request.signal?.throwIfAborted();
    const scaled = new Float32Array(image.latents.length);
    for (let i = 0; i < scaled.length; i++) scaled[i] = image.latents[i] / model.folder.vaeScalingFactor;
    const pixels = await model.decodeLatents(scaled, 1, image.height, image.width);
    const rgb = decodedToRgb(pixels, request.width, request.height);
    decoded.push(image.paste ? await pasteInpainted(image.paste, rgb, request.width, request.height) : rgb);
  }
  return decoded;
}

/** Step 5: image files, PNGs with their parameters chunks. */
export function encodeImages(
  model: DiffusionModel,
  decoded: readonly Uint8Array[],
  request: GenerateRequest,
): Promise<GeneratedImage[]> {
  return Promise.all(
    decoded.map(async (rgb, i) => {
      const seed = request.seeds[i];
      const text = request.outputFormat === 'png' ? pngText(model, request, seed) : undefined;
      const bytes = await encodeImage(rgb, request.width, request.height, {
        format: request.outputFormat,
        text,
      });
      return {
        seed,
        bytes,
        contentType: CONTENT_TYPES[request.outputFormat],
        width: request.width,
        height: request.height,
      };
    }),
  );
}

/** The PNG's text chunks: A1111's `parameters`, and every parameter needed to reproduce it. */
function pngText(model: DiffusionModel, request: GenerateRequest, seed: number): Record<string, string> {
  const reproduce = {
    model: model.id,
    revision: model.revision,
    prompt: request.promptText,
    negative_prompt: request.negativePromptText,
    prompt_tokens: request.prompt.chunks,
    negative_prompt_tokens: request.negativePrompt.chunks,
    width: request.width,
    height: request.height,
    steps: request.steps,
    guidance_scale: request.guidanceScale,
    guidance_rescale: request.guidanceRescale,
    scheduler: request.scheduler,
    seed,
    strength: request.initImage ? request.strength : undefined,
    inpaint: request.inpaint && {
      mask_source: request.inpaint.source,
      mask_invert: request.inpaint.invert ?? false,
      mask_blur: request.inpaint.blur ?? 0,
      masked_content: request.inpaint.maskedContent ?? 'original',
      only_masked: request.inpaint.onlyMasked ?? false,
    },
    loras: model.variant?.loras,
  };
  return {
    parameters: formatInfotext({
      prompt: request.promptText ?? '',
      negativePrompt: request.negativePromptText ?? '',
      steps: request.steps,
      scheduler: request.scheduler,
      guidanceScale: request.guidanceScale,
      seed,
      width: request.width,
      height: request.height,
      model: model.id,
      modelHash: model.revision.slice(0, 10),
      strength: request.initImage ? request.strength : undefined,
      maskBlur: request.inpaint ? (request.inpaint.blur ?? 0) : undefined,
      loras: model.variant?.loras,
    }),
    'latent-edge': JSON.stringify(reproduce),
  };
}

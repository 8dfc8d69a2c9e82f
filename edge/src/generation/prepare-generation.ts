// A validated request becomes a prepared generation: the model's defaults filled in and its
// limits checked, both prompts tokenized into weighted 77-id chunks, the seeds chosen, and each
// image's result-cache key computed. Everything here is the client's fault when it fails (400).
// The result is plain JSON, so an asynchronous job can carry it through the queue unchanged.
import { imageCacheKey } from '@latent-edge/shared/crypto/cache-key';
import { sha256Hex } from '@latent-edge/shared/crypto/hmac';
import { extractLoraTags, type LoraTag } from '@latent-edge/shared/prompt/extra-networks';
import { tokenizeWeighted } from '@latent-edge/shared/prompt/prompt-chunks';
import { PromptError, PromptTooLongError } from '@latent-edge/shared/prompt/prompt-errors';
import type {
  GenerationRequest,
  MaskedContent,
  MaskSource,
  OutputFormat,
} from '@latent-edge/shared/protocol/generation-request';
import { LIMITS } from '@latent-edge/shared/protocol/limits';
import type { SchedulerName } from '@latent-edge/shared/scheduler-names';
import type { EdgeConfig } from '../config/edge-config.ts';
import { ApiError } from '../http/api-error.ts';
import { TimedMemory } from '../memory/timed-memory.ts';
import { checkPromptPolicy } from '../safety/prompt-policy.ts';
import { type CompiledRule, rulesForModel } from '../safety/prompt-rules.ts';
import { decodeInitImage, pixelSize } from './init-image.ts';
import { chooseLoras, type PreparedLora } from './lora-choices.ts';
import { findModel, type ServedModel } from './served-models.ts';

export interface PreparedPrompt {
  /** As the user wrote it, `<lora:…>` tags included (it goes into the PNG's parameters). */
  text: string;
  chunks: { ids: number[]; weights: number[] }[];
  /** The same prompt for a second text encoder (SDXL), by its own tokenizer: one chunk per chunk. */
  chunks2?: { ids: number[]; weights: number[] }[];
  /** Prompt tokens, without BOS, EOS or padding. */
  tokenCount: number;
  /** The second tokenizer's count, when the model has one. */
  tokenCount2?: number;
  /** Textual-inversion embeddings the prompt names, in order of first use. */
  embeddings: string[];
}

export interface PreparedImage {
  seed: number;
  /** The HMAC result-cache key (hex); the R2 object is `${key}.${extension}`. */
  key: string;
}

export interface PreparedGeneration {
  model: string;
  revision: string;
  prompt: PreparedPrompt;
  negativePrompt: PreparedPrompt;
  width: number;
  height: number;
  steps: number;
  guidanceScale: number;
  guidanceRescale: number;
  scheduler: SchedulerName;
  outputFormat: OutputFormat;
  /** The first image's seed; image i has seed + i (AUTOMATIC1111's convention). */
  seed: number;
  /** img2img: SHA-256 of the init image (its bytes travel beside this record), and the strength. */
  initImageSha256?: string;
  strength?: number;
  /** Outpainting: pixels added on each side (the border is inpainted with inpaint's blur and content). */
  outpaint?: PreparedOutpaint;
  /** Inpainting: SHA-256 of the mask (its bytes travel beside this record) and how it is used. */
  inpaint?: PreparedInpaint;
  /**
   * The gpu-worker skips its image safety checker (a Discord server's NSFW channel that allows
   * it); part of the cache key, so filtered requests never get these images. Absent: filtered.
   */
  unfiltered?: true;
  /** Discord's Zoom out: the key of the stored image outpainted, so the result's buttons can redo it. */
  zoomedFrom?: string;
  images: PreparedImage[];
  /** Tokens allowed per prompt (chunks × 75): longer prompts are refused, never truncated. */
  tokenLimit: number;
  /** LoRAs merged in, in name order; absent or empty for the base model (jobs queued before LoRAs). */
  loras?: PreparedLora[];
  /** Textual-inversion embeddings either prompt used (for the infotext; the revision covers them). */
  embeddings?: { name: string; sha256: string }[];
}

export interface PreparedOutpaint {
  left: number;
  right: number;
  top: number;
  bottom: number;
  blur: number;
  maskedContent: MaskedContent;
}

export interface PreparedInpaint {
  maskSha256: string;
  source: MaskSource;
  invert: boolean;
  blur: number;
  maskedContent: MaskedContent;
  onlyMasked: boolean;
  onlyMaskedPadding: number;
}

export interface Prepared {
  generation: PreparedGeneration;
  initImage?: Uint8Array;
  mask?: Uint8Array;
}

/** What the caller's context adds to the model's prompt policy (a Discord server's settings). */
export interface GenerationPolicy {
  /** Checked after the model's PROMPT_RULES. */
  extraRules?: readonly CompiledRule[];
  /** Images without the gpu-worker's safety checker (see PreparedGeneration.unfiltered). */
  unfiltered?: boolean;
}

/** A1111's img2img default denoising strength. */
const DEFAULT_STRENGTH = 0.75;

function checkSide(model: ServedModel, field: 'width' | 'height', value: number): void {
  const { size_multiple: multiple, id } = model.config;
  const max = field === 'width' ? model.config.max_width : model.config.max_height;
  if (value % multiple !== 0) {
    throw new ApiError(
      400,
      'invalid_request',
      `${field}: ${value} is not a multiple of ${multiple}, which model "${id}" needs`,
      { field },
    );
  }
  if (value > max) {
    throw new ApiError(
      400,
      'invalid_request',
      `${field}: ${value} is above model "${id}"'s maximum of ${max}`,
      { field },
    );
  }
}

/** A model with aspect buckets (SDXL) makes only those sizes. */
function checkBucket(model: ServedModel, width: number, height: number): void {
  const sizes = model.config.sizes;
  if (!sizes || sizes.includes(`${width}x${height}`)) return;
  throw new ApiError(
    400,
    'invalid_request',
    `width: ${width}x${height} is not a size model "${model.config.id}" makes; allowed: ${sizes.join(', ')}`,
    { field: 'width' },
  );
}

/**
 * Prompts tokenized lately, by model and text, frozen: the same prompts come back often (negative
 * prompts above all, and every cache hit), and tokenizing two of them was about 0.07 ms of a cache
 * hit's workerd CPU (test/bench/edge.ts). A tokenizer never changes in an isolate's life.
 */
const tokenizedPrompts = new TimedMemory<PreparedPrompt>(256);

/** Shared by every request with the same prompt, so nothing may change it. */
function freezePrompt(prompt: PreparedPrompt): PreparedPrompt {
  for (const chunk of prompt.chunks) {
    Object.freeze(chunk.ids);
    Object.freeze(chunk.weights);
    Object.freeze(chunk);
  }
  Object.freeze(prompt.chunks);
  for (const chunk of prompt.chunks2 ?? []) {
    Object.freeze(chunk.ids);
    Object.freeze(chunk.weights);
    Object.freeze(chunk);
  }
  if (prompt.chunks2) Object.freeze(prompt.chunks2);
  return Object.freeze(prompt);
}

/** A PromptError is the client's: 400 under the field it came from. */
function promptRefusal(error: PromptError, field: string): ApiError {
  const at = error instanceof PromptTooLongError ? error.field : field;
  return new ApiError(
    400,
    'invalid_request',
    error.message.startsWith(at) ? error.message : `${at}: ${error.message}`,
    { field: at },
  );
}

/**
 * The prompt without its `<lora:…>` tags, tokenized (so tags cost no tokens, as in A1111), and
 * the tags. The negative prompt takes none: A1111 would feed them to the encoder as text.
 */
/** `<lora:…>` tags out of the text, a malformed one refused with 400 under `field`. */
export function readLoraTags(text: string, field: string): ReturnType<typeof extractLoraTags> {
  try {
    return extractLoraTags(text, field);
  } catch (error) {
    if (error instanceof PromptError) throw promptRefusal(error, field);
    throw error;
  }
}

function tokenizeWithTags(model: ServedModel, text: string, field: string): [PreparedPrompt, LoraTag[]] {
  const parsed = readLoraTags(text, field);
  if (field !== 'prompt' && parsed.loras.length > 0) {
    throw new ApiError(400, 'invalid_request', `${field}: <lora:…> tags belong in the prompt`, { field });
  }
  const prompt = tokenizePrompt(model, parsed.text, field);
  return [parsed.text === text ? prompt : Object.freeze({ ...prompt, text }), parsed.loras];
}

function tokenizePrompt(model: ServedModel, text: string, field: string): PreparedPrompt {
  const memoryKey = `${model.config.id}\n${text}`;
  const known = tokenizedPrompts.recall(memoryKey, Number.POSITIVE_INFINITY);
  if (known) return known;
  try {
    const { chunks, tokenCount, embeddings } = tokenizeWeighted(model.tokenizer(), text, {
      field,
      embeddings: model.embeddingLookup(0),
    });
    const second =
      model.tokenizer2 &&
      tokenizeWeighted(model.tokenizer2(), text, { field, embeddings: model.embeddingLookup(1) });
    if (second && second.chunks.length !== chunks.length) {
      // Both of SDXL's tokenizers share one vocabulary, so this means a misconfigured model folder.
      throw new ApiError(
        500,
        'misconfigured',
        `model "${model.config.id}": its two tokenizers split this prompt into different chunk counts`,
      );
    }
    const prompt = freezePrompt({
      text,
      chunks,
      tokenCount,
      embeddings,
      ...(second && { chunks2: second.chunks, tokenCount2: second.tokenCount }),
    });
    tokenizedPrompts.learn(memoryKey, prompt);
    return prompt;
  } catch (error) {
    if (error instanceof PromptError) throw promptRefusal(error, field);
    throw error;
  }
}

function usedEmbeddings(model: ServedModel, prompts: PreparedPrompt[]) {
  const names = new Set(prompts.flatMap((p) => p.embeddings));
  const used = model.embeddings
    .filter((e) => names.has(e.name))
    .map(({ name, sha256 }) => ({ name, sha256 }));
  return used.length > 0 ? { embeddings: used } : {};
}

function randomSeed(): number {
  // 32 bits, as AUTOMATIC1111 draws them, so a returned seed works in tools that keep seeds in 32 bits.
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

export async function prepareGeneration(
  config: EdgeConfig,
  request: GenerationRequest,
  policy: GenerationPolicy = {},
): Promise<Prepared> {
  const model = findModel(config, request.model);
  // The prompt policy first, so a refused prompt costs no tokenizing and never reaches a cache.
  checkPromptPolicy([...rulesForModel(config.PROMPT_RULES, model.config.id), ...(policy.extraRules ?? [])], {
    prompt: request.prompt,
    negative_prompt: request.negative_prompt,
  });
  const canvas = outpaintCanvas(request);
  const width = request.width ?? canvas?.width ?? model.config.default_width;
  const height = request.height ?? canvas?.height ?? model.config.default_height;
  checkSide(model, 'width', width);
  checkSide(model, 'height', height);
  checkBucket(model, width, height);
  const steps = request.steps ?? model.config.default_steps;
  if (steps > model.config.max_steps) {
    throw new ApiError(
      400,
      'invalid_request',
      `steps: ${steps} is above model "${model.config.id}"'s maximum of ${model.config.max_steps}`,
      {
        field: 'steps',
      },
    );
  }
  if (request.prompt === '' && request.init_image === undefined) {
    throw new ApiError(400, 'invalid_request', 'prompt: empty; only img2img (init_image) works without one', {
      field: 'prompt',
    });
  }
  if (request.mask !== undefined && request.init_image === undefined) {
    throw new ApiError(400, 'invalid_request', 'mask: needs init_image, the picture to repaint', {
      field: 'mask',
    });
  }
  if (request.strength !== undefined && request.init_image === undefined) {
    throw new ApiError(400, 'invalid_request', 'strength: only applies with init_image (img2img)', {
      field: 'strength',
    });
  }
  const seed = request.seed === -1 ? randomSeed() : request.seed;
  if (seed + request.n - 1 > LIMITS.maxSeed) {
    throw new ApiError(
      400,
      'invalid_request',
      `seed: ${seed} + ${request.n} images runs past the largest seed ${LIMITS.maxSeed}`,
      {
        field: 'seed',
      },
    );
  }
  const [prompt, tags] = tokenizeWithTags(model, request.prompt, 'prompt');
  const [negativePrompt] = tokenizeWithTags(model, request.negative_prompt, 'negative_prompt');
  const loras = chooseLoras(model, request.loras ?? [], tags);
  const initImage = request.init_image === undefined ? undefined : decodeInitImage(request.init_image);
  const initImageSha256 = initImage ? await sha256Hex(initImage) : undefined;
  const strength = initImage ? (request.strength ?? DEFAULT_STRENGTH) : undefined;
  const outpaint: PreparedOutpaint | undefined = request.outpaint && {
    ...request.outpaint,
    blur: request.mask_blur,
    maskedContent: request.masked_content,
  };
  const mask = initImage && request.mask !== undefined ? readMask(initImage, request.mask) : undefined;
  const inpaint: PreparedInpaint | undefined = mask && {
    maskSha256: await sha256Hex(mask),
    source: request.mask_source,
    invert: request.invert_mask,
    blur: request.mask_blur,
    maskedContent: request.masked_content,
    onlyMasked: request.inpaint_only_masked,
    onlyMaskedPadding: request.only_masked_padding,
  };

  const generation: Omit<PreparedGeneration, 'images'> = {
    model: model.config.id,
    revision: model.revision,
    prompt,
    negativePrompt,
    width,
    height,
    steps,
    guidanceScale: request.guidance_scale ?? model.config.default_guidance_scale,
    guidanceRescale: request.guidance_rescale,
    scheduler: request.scheduler ?? model.config.default_scheduler,
    outputFormat: request.output_format,
    seed,
    initImageSha256,
    strength,
    ...(inpaint && { inpaint }),
    ...(outpaint && { outpaint }),
    ...(policy.unfiltered && { unfiltered: true as const }),
    tokenLimit: LIMITS.maxPromptChunks * (model.tokenizer().maxLength - 2),
    ...(loras.length > 0 && { loras }),
    ...usedEmbeddings(model, [prompt, negativePrompt]),
  };
  const images = await Promise.all(
    Array.from({ length: request.n }, async (_, i) => ({
      seed: seed + i,
      key: await imageCacheKey(config.CACHE_KEY_SECRET, {
        model: generation.model,
        revision: generation.revision,
        prompt: prompt.chunks,
        negativePrompt: negativePrompt.chunks,
        prompt2: prompt.chunks2,
        negativePrompt2: negativePrompt.chunks2,
        width,
        height,
        steps,
        guidanceScale: generation.guidanceScale,
        guidanceRescale: generation.guidanceRescale,
        scheduler: generation.scheduler,
        seed: seed + i,
        outputFormat: generation.outputFormat,
        initImageSha256,
        strength,
        inpaint,
        outpaint,
        loras: loras.length > 0 ? loras.map(({ sha256, weight }) => ({ sha256, weight })) : undefined,
        unfiltered: generation.unfiltered,
      }),
    })),
  );
  return { generation: { ...generation, images }, initImage, ...(mask && { mask }) };
}

/** Outpainting's default canvas: the init image's size plus the extensions. */
function outpaintCanvas(request: GenerationRequest): { width: number; height: number } | undefined {
  const { outpaint, init_image: init } = request;
  if (!outpaint) return undefined;
  if (init === undefined) {
    throw new ApiError(400, 'invalid_request', 'outpaint: needs init_image, the picture to extend', {
      field: 'outpaint',
    });
  }
  if (request.mask !== undefined) {
    throw new ApiError(
      400,
      'invalid_request',
      'outpaint: brings its own mask (the new border); send no mask',
      {
        field: 'outpaint',
      },
    );
  }
  const { left, right, top, bottom } = outpaint;
  if (left + right + top + bottom === 0) {
    throw new ApiError(400, 'invalid_request', 'outpaint: extend at least one side', { field: 'outpaint' });
  }
  const own = pixelSize(decodeInitImage(init), 'init_image');
  return { width: own.width + left + right, height: own.height + top + bottom };
}

/** The mask's bytes, refused unless it is an image of the init image's pixel size. */
function readMask(initImage: Uint8Array, base64: string): Uint8Array {
  const mask = decodeInitImage(base64, 'mask');
  const image = pixelSize(initImage, 'init_image');
  const own = pixelSize(mask, 'mask');
  if (own.width !== image.width || own.height !== image.height) {
    throw new ApiError(
      400,
      'invalid_request',
      `mask: ${own.width}x${own.height} is not the init image's size, ${image.width}x${image.height}`,
      { field: 'mask' },
    );
  }
  return mask;
}

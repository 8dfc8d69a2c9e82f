// One generation, the same for synchronous requests and queued jobs:
//   1. Result cache: every image whose key is already in R2 is answered from there.
//   2. Embedding cache: text-encoder outputs of earlier jobs go with the job, when present.
//   3. The signed job for the missing seeds goes to a gpu-worker: pushed to a worker URL (one
//      retry elsewhere), or, in scale-out mode, put on the model's queue for a worker to pull.
//   4. Each new image is written to R2 before it is announced, so every URL answered works.
import type { Tier } from '@latent-edge/shared/protocol/dispatch';
import { float32Bytes } from '@latent-edge/shared/protocol/envelope';
import type { GpuJob, GpuResult } from '@latent-edge/shared/protocol/gpu-job';
import type { z } from 'zod';
import type { EdgeConfig } from '../config/edge-config.ts';
import { ApiError } from '../http/api-error.ts';
import { embeddingKey, loadEmbedding } from './embedding-cache.ts';
import { sendJob } from './gpu-pool.ts';
import { IMAGE_CONTENT_TYPES, imageParameters, objectKey } from './image-objects.ts';
import type { Prepared, PreparedGeneration } from './prepare-generation.ts';
import { dispatchByQueue, type ShareOwner } from './queue-dispatch.ts';
import { type MadeImage, type StorePlan, storeResults } from './store-results.ts';
import { isStored } from './stored-images.ts';
import { type ProgressListener, workerEventsFollower } from './worker-events.ts';

export interface GeneratedImage {
  seed: number;
  key: string;
  objectKey: string;
  contentType: string;
  width: number;
  height: number;
  cached: boolean;
  /** Bytes of a freshly generated image (cached images are read from R2 when needed). */
  bytes?: Uint8Array;
}

export type CacheStatus = 'HIT' | 'MISS' | 'PARTIAL';

export interface GenerationOutcome {
  jobId: string;
  generation: PreparedGeneration;
  images: GeneratedImage[];
  cache: CacheStatus;
  /** Whether the gpu-worker skipped the text encoder thanks to cached embeddings. */
  embeddingsCached?: boolean;
  /**
   * Set when an A1111 interrupt ended the job early: the steps it ran. Its images are the
   * worker's estimate at that step, answered to the request but never stored under the request's
   * key (they are not its result).
   */
  interruptedAtStep?: number;
  /** The gpu-worker's timings of the job (absent when every image came from the cache): usage metering. */
  workerTimingsMs?: GpuResult['timings_ms'];
}

export interface GenerationDeps {
  env: Env;
  config: EdgeConfig;
  waitUntil: (promise: Promise<unknown>) => void;
}

export interface GenerationOptions {
  jobId: string;
  onAttempt?: (worker: string) => Promise<void> | void;
  /** Queue position, steps and previews from the gpu-worker while it runs the job. */
  onProgress?: ProgressListener;
  /** A preview frame every this many steps (needs onProgress); 0 or absent = none. */
  previewEvery?: number;
  /** Scale-out mode: the queue tier (interactive when someone waits, batch for async jobs). */
  tier?: Tier;
  /** Scale-out mode: whose job it is, for the fair share of the fleet between keys. */
  share?: ShareOwner;
}

/** Which images are already in R2 (one HEAD each, in parallel, for those not seen lately). */
export async function cachedImageKeys(
  bucket: R2Bucket,
  generation: PreparedGeneration,
): Promise<Set<string>> {
  const stored = await Promise.all(
    generation.images.map((image) => isStored(bucket, objectKey(image.key, generation.outputFormat))),
  );
  return new Set(generation.images.filter((_, i) => stored[i]).map((image) => image.key));
}

export function cacheStatus(cachedCount: number, total: number): CacheStatus {
  if (cachedCount === total) return 'HIT';
  return cachedCount === 0 ? 'MISS' : 'PARTIAL';
}

export async function runGeneration(
  deps: GenerationDeps,
  { generation, initImage, mask }: Prepared,
  options: GenerationOptions,
): Promise<GenerationOutcome> {
  const { env, config } = deps;
  // 1. Result cache.
  const cached = await cachedImageKeys(env.IMAGES, generation);
  const images: GeneratedImage[] = generation.images.map((image) => ({
    seed: image.seed,
    key: image.key,
    objectKey: objectKey(image.key, generation.outputFormat),
    contentType: IMAGE_CONTENT_TYPES[generation.outputFormat],
    width: generation.width,
    height: generation.height,
    cached: cached.has(image.key),
  }));
  const missing = images.filter((image) => !image.cached);
  if (missing.length === 0) return { jobId: options.jobId, generation, images, cache: 'HIT' };
  if ((generation.initImageSha256 && !initImage) || (generation.inpaint && !mask)) {
    throw new ApiError(500, 'internal', 'an input image of this job is missing');
  }

  // 2. Embedding cache.
  const loras = generation.loras ?? [];
  const promptKey = await embeddingKey(generation.model, generation.revision, generation.prompt, loras);
  const negativeKey = await embeddingKey(
    generation.model,
    generation.revision,
    generation.negativePrompt,
    loras,
  );
  const [promptEmbedding, negativeEmbedding] = await Promise.all([
    loadEmbedding(env.EMBEDDINGS, promptKey, generation.prompt),
    loadEmbedding(env.EMBEDDINGS, negativeKey, generation.negativePrompt),
  ]);
  const parts: Record<string, Uint8Array> = {};
  if (promptEmbedding) parts.prompt_embedding = float32Bytes(promptEmbedding);
  if (negativeEmbedding) parts.negative_prompt_embedding = float32Bytes(negativeEmbedding);
  if (initImage) parts.init_image = initImage;
  if (mask) parts.mask = mask;

  // 3. The job, for the missing seeds only, its progress followed when someone listens.
  const following = !!options.onProgress;
  const job: z.input<typeof GpuJob> = {
    job_id: options.jobId,
    model: generation.model,
    revision: generation.revision,
    prompt: {
      chunks: generation.prompt.chunks,
      chunks_2: generation.prompt.chunks2,
      embedding: promptEmbedding ? 'prompt_embedding' : undefined,
    },
    negative_prompt: {
      chunks: generation.negativePrompt.chunks,
      chunks_2: generation.negativePrompt.chunks2,
      embedding: negativeEmbedding ? 'negative_prompt_embedding' : undefined,
    },
    width: generation.width,
    height: generation.height,
    steps: generation.steps,
    guidance_scale: generation.guidanceScale,
    guidance_rescale: generation.guidanceRescale,
    scheduler: generation.scheduler,
    seeds: missing.map((image) => image.seed),
    output_format: generation.outputFormat,
    init_image: initImage ? 'init_image' : undefined,
    strength: generation.strength,
    outpaint: generation.outpaint && {
      left: generation.outpaint.left,
      right: generation.outpaint.right,
      top: generation.outpaint.top,
      bottom: generation.outpaint.bottom,
      blur: generation.outpaint.blur,
      masked_content: generation.outpaint.maskedContent,
    },
    inpaint: generation.inpaint && {
      mask: 'mask',
      source: generation.inpaint.source,
      invert: generation.inpaint.invert,
      blur: generation.inpaint.blur,
      masked_content: generation.inpaint.maskedContent,
      only_masked: generation.inpaint.onlyMasked,
      only_masked_padding: generation.inpaint.onlyMaskedPadding,
    },
    timeout_ms: config.GPU_TIMEOUT_MS,
    return_embeddings: !(promptEmbedding && negativeEmbedding),
    prompt_text: generation.prompt.text,
    negative_prompt_text: generation.negativePrompt.text,
    preview_every: following ? (options.previewEvery ?? 0) : 0,
    loras: loras.map(({ name, sha256, weight }) => ({ name, sha256, weight })),
    safety_check: !generation.unfiltered,
  };
  const plan: StorePlan = {
    images: missing.map((image) => ({
      seed: image.seed,
      key: image.key,
      parameters: imageParameters(generation, image.seed),
    })),
    promptEmbeddingKey: promptEmbedding ? undefined : promptKey,
    negativeEmbeddingKey: negativeEmbedding ? undefined : negativeKey,
  };

  // 4. Stored before it is answered: here for a pushed job, by the result route for a pulled one.
  const made =
    config.JOB_DISPATCH === 'queues'
      ? await dispatchByQueue(env, {
          job,
          parts,
          plan,
          tier: options.tier ?? 'interactive',
          timeoutMs: config.GPU_TIMEOUT_MS,
          onProgress: options.onProgress,
          share: options.share,
        })
      : await pushJob(deps, job, parts, plan, options);
  const bySeed = new Map(made.images.map((image) => [image.seed, image]));
  for (const image of missing) {
    const result = bySeed.get(image.seed);
    if (!result) {
      throw new ApiError(502, 'gpu_bad_response', `the gpu-worker returned no image for seed ${image.seed}`);
    }
    image.bytes = result.bytes;
    image.width = result.width;
    image.height = result.height;
  }
  const { result } = made;
  return {
    jobId: options.jobId,
    generation,
    images,
    cache: cacheStatus(images.length - missing.length, images.length),
    embeddingsCached: result.embeddings_cached,
    interruptedAtStep: result.interrupted_at_step,
    workerTimingsMs: result.timings_ms,
  };
}

/** A pushed job: sent to a gpu-worker URL (one retry elsewhere), its answer stored here. */
async function pushJob(
  deps: GenerationDeps,
  job: z.input<typeof GpuJob>,
  parts: Record<string, Uint8Array>,
  plan: StorePlan,
  options: GenerationOptions,
): Promise<{ result: GpuResult; images: MadeImage[] }> {
  const { config } = deps;
  const progress = options.onProgress
    ? workerEventsFollower(config.GPU_SHARED_SECRET, options.jobId, options.onProgress)
    : undefined;
  const sending = sendJob({
    workers: config.GPU_WORKERS,
    secret: config.GPU_SHARED_SECRET,
    timeoutMs: config.GPU_TIMEOUT_MS,
    onAttempt: async (worker) => {
      await options.onAttempt?.(worker);
      progress?.attempt(worker);
    },
    waitUntil: deps.waitUntil,
    parts,
    job,
  });
  const { response } = await sending.finally(() => progress?.stop());
  return { result: response.result, images: await storeResults(deps.env, plan, response) };
}

// Step 4 of a generation: a gpu-worker's images go to R2 under their cache keys, and fresh
// text-encoder outputs to KV, before anyone is told of them (so every URL answered works). The
// plan is made when the job is sent and holds all that storing needs, so the same code stores a
// pushed job's answer (in the request that sent it) and a pulled job's result (in the edge route
// the gpu-worker posts it to, possibly long after the request that made it is gone).
import type { GpuResponse } from '@latent-edge/shared/protocol/gpu-client';
import { ApiError } from '../http/api-error.ts';
import { storeEmbedding } from './embedding-cache.ts';
import { type ImageParameters, storeImage } from './image-objects.ts';

export interface StorePlan {
  /** Each image the job makes: its seed, cache key and the parameters stored with it. */
  images: { seed: number; key: string; parameters: ImageParameters }[];
  /** KV keys for the embeddings the worker returns, when the edge had none cached. */
  promptEmbeddingKey?: string;
  negativeEmbeddingKey?: string;
}

/** An image as the worker made it: bytes present when they came with the answer. */
export interface MadeImage {
  seed: number;
  width: number;
  height: number;
  bytes?: Uint8Array;
}

/**
 * Stores what `response` brought. Images of an interrupted job (A1111) are not the request's
 * result and are never stored under its keys. A worker answering other seeds than asked is a bug
 * worth a 502.
 */
export async function storeResults(
  env: Pick<Env, 'IMAGES' | 'EMBEDDINGS'>,
  plan: StorePlan,
  response: GpuResponse,
): Promise<MadeImage[]> {
  const bySeed = new Map(response.images.map((image) => [image.seed, image]));
  const interrupted = response.result.interrupted_at_step !== undefined;
  const stores: Promise<unknown>[] = [];
  const { embeddings } = response.result;
  if (response.promptEmbedding && plan.promptEmbeddingKey) {
    stores.push(
      storeEmbedding(
        env.EMBEDDINGS,
        plan.promptEmbeddingKey,
        response.promptEmbedding,
        embeddings?.prompt.pooled,
      ),
    );
  }
  // Identical prompts share a key; KV takes one write per key per second.
  if (
    response.negativeEmbedding &&
    plan.negativeEmbeddingKey &&
    plan.negativeEmbeddingKey !== plan.promptEmbeddingKey
  ) {
    stores.push(
      storeEmbedding(
        env.EMBEDDINGS,
        plan.negativeEmbeddingKey,
        response.negativeEmbedding,
        embeddings?.negative_prompt.pooled,
      ),
    );
  }
  const made = plan.images.map((image) => {
    const result = bySeed.get(image.seed);
    if (!result?.bytes) {
      throw new ApiError(502, 'gpu_bad_response', `the gpu-worker returned no image for seed ${image.seed}`);
    }
    if (!interrupted) stores.push(storeImage(env.IMAGES, image.key, result.bytes, image.parameters));
    return { seed: image.seed, width: result.width, height: result.height, bytes: result.bytes };
  });
  await Promise.all(stores);
  return made;
}

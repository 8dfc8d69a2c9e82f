// A finished job as the result envelope the edge reads (shared/src/protocol/gpu-client.ts
// decodeGpuResult): the head names each image and embedding part, the parts carry the bytes.
// The same bytes answer POST /v1/generate and are posted to the edge for a pulled job.
import { encodeEnvelope, float32Bytes } from '@latent-edge/shared/protocol/envelope';
import type { GpuResult } from '@latent-edge/shared/protocol/gpu-job';
import type { DiffusionModel } from '../model/diffusion-model.ts';
import type { Job, JobOutcome } from './job.ts';

export function resultEnvelope(
  job: Job,
  model: DiffusionModel,
  outcome: JobOutcome,
  returnEmbeddings: boolean,
): Uint8Array {
  const parts: Record<string, Uint8Array> = {};
  const images = outcome.images.map((image, i) => {
    parts[`image${i}`] = image.bytes;
    return {
      seed: image.seed,
      part: `image${i}`,
      content_type: image.contentType,
      width: image.width,
      height: image.height,
    };
  });
  const { hiddenSize: hidden, pooledSize } = model.spec;
  // [rows, hidden] then the pooled values; an absent (or zeroed SDXL) negative is empty.
  const shape = (values: Float32Array) => {
    const pooled = values.length > 0 ? pooledSize : 0;
    return { shape: [(values.length - pooled) / hidden, hidden] as [number, number], pooled };
  };
  let embeddings: GpuResult['embeddings'];
  const { promptEmbedding, negativeEmbedding } = outcome.prompts;
  if (returnEmbeddings && !outcome.prompts.fromCache) {
    parts.prompt_embedding = float32Bytes(promptEmbedding);
    const negative = negativeEmbedding ?? new Float32Array(0);
    parts.negative_prompt_embedding = float32Bytes(negative);
    embeddings = {
      prompt: { part: 'prompt_embedding', ...shape(promptEmbedding) },
      negative_prompt: { part: 'negative_prompt_embedding', ...shape(negative) },
    };
  }
  const head: GpuResult = {
    job_id: job.id,
    model: model.id,
    revision: model.revision,
    images,
    withheld: [],
    timings_ms: outcome.timingsMs,
    embeddings_cached: outcome.prompts.fromCache,
    embeddings,
    interrupted_at_step: job.endedEarlyAt,
  };
  return encodeEnvelope(head, parts);
}

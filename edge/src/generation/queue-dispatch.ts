// Step 3 in scale-out mode (JOB_DISPATCH = "queues"): instead of pushing the job to a worker URL,
// the edge parks its envelope in R2, opens its dispatch in the job's JobState, puts a small
// message on the model's queue for the tier, and waits on the JobState for the outcome. A
// gpu-worker that pulls the message claims the envelope (routes/gpu-dispatch.ts), and the edge
// stores its result before the worker acknowledges the message, so the images are in R2 when
// this wait ends, whoever posted them.
import { DispatchMessage, dispatchBindingName, type Tier } from '@latent-edge/shared/protocol/dispatch';
import { encodeEnvelope } from '@latent-edge/shared/protocol/envelope';
import { GpuWorkerError } from '@latent-edge/shared/protocol/gpu-client';
import type { GpuJob, GpuResult } from '@latent-edge/shared/protocol/gpu-job';
import type { z } from 'zod';
import { ApiError } from '../http/api-error.ts';
import { finalWorkerError } from './gpu-pool.ts';
import type { MadeImage, StorePlan } from './store-results.ts';
import type { ProgressListener } from './worker-events.ts';

/** Where a dispatched job's envelope waits for its claim (an R2 lifecycle rule sweeps leftovers). */
export function envelopeKey(jobId: string): string {
  return `dispatch/${jobId}`;
}

/** The producer binding of a model's tier queue; undefined when wrangler.toml lacks it. */
export function dispatchQueue(env: Env, model: string, tier: Tier): Queue | undefined {
  return (env as unknown as Record<string, Queue | undefined>)[dispatchBindingName(model, tier)];
}

/** Whose job it is, for the fair share: at most `cap` of the owner's jobs in the queues at once. */
export interface ShareOwner {
  owner: string;
  cap: number;
}

/** An API key's share: its own cap, or the configured one. */
export function keyShare(key: { id: string; max_in_flight?: number }, defaultCap: number): ShareOwner {
  return { owner: `key:${key.id}`, cap: key.max_in_flight ?? defaultCap };
}

export interface QueueDispatchOptions {
  job: z.input<typeof GpuJob>;
  parts: Record<string, Uint8Array>;
  plan: StorePlan;
  tier: Tier;
  timeoutMs: number;
  onProgress?: ProgressListener;
  share?: ShareOwner;
}

/** Sends the job over its queue and waits; answers the worker's result as stored, or throws. */
export async function dispatchByQueue(
  env: Env,
  options: QueueDispatchOptions,
): Promise<{ result: GpuResult; images: MadeImage[] }> {
  const { job, tier } = options;
  const queue = dispatchQueue(env, job.model, tier);
  if (!queue) {
    throw new ApiError(503, 'gpu_unavailable', `no ${tier} queue is configured for model ${job.model}`, {
      headers: { 'Retry-After': '30' },
    });
  }
  const deadline = Date.now() + options.timeoutMs;
  const gauge = env.DISPATCH_GAUGE.getByName(`${job.model}:${tier}`);
  const share = options.share && env.FAIR_SHARE.getByName(options.share.owner);
  if (share && options.share) {
    await gauge.set(job.job_id, 'waiting', deadline);
    const entered = await share.acquire(job.job_id, options.share.cap, deadline);
    if (!entered) {
      await gauge.set(job.job_id, null, deadline);
      throw new ApiError(
        504,
        'gpu_timeout',
        `the job waited behind ${options.share.cap} others of its key until its deadline`,
      );
    }
  }
  try {
    return await sendAndWait(env, options, deadline);
  } finally {
    await share?.release(job.job_id);
  }
}

async function sendAndWait(
  env: Env,
  options: QueueDispatchOptions,
  deadline: number,
): Promise<{ result: GpuResult; images: MadeImage[] }> {
  const { job, tier } = options;
  const queue = dispatchQueue(env, job.model, tier) as Queue;
  const now = Date.now();
  await env.IMAGES.put(envelopeKey(job.job_id), encodeEnvelope(job, options.parts));
  const state = env.JOB_STATE.getByName(job.job_id);
  const revision = job.revision ?? '';
  await state.openDispatch({
    job_id: job.job_id,
    model: job.model,
    revision,
    tier,
    deadline,
    enqueued_at: now,
    status: 'queued',
    claims: 0,
    tokens: [],
    plan: options.plan,
  });
  const message = DispatchMessage.parse({
    job_id: job.job_id,
    model: job.model,
    revision,
    tier,
    deadline,
  });
  await queue.send(message, { contentType: 'json' });
  const outcome = await state.awaitDispatch(Math.max(0, deadline - Date.now()), options.onProgress);
  if (outcome.status === 'done') {
    // Through RPC the result's tuples arrive as arrays: the same values, by another type.
    const result = outcome.result as unknown as GpuResult;
    return { result, images: result.images.map(({ seed, width, height }) => ({ seed, width, height })) };
  }
  if (outcome.status === 'cancelled') {
    throw new ApiError(409, 'cancelled', `job ${job.job_id} was cancelled`);
  }
  if (outcome.status === 'timeout') {
    throw new ApiError(504, 'gpu_timeout', `no gpu-worker finished the job within ${options.timeoutMs} ms`);
  }
  const { error } = outcome;
  const refusal = new GpuWorkerError(error.status, error.code, error.message, undefined, error.field);
  throw (
    finalWorkerError(refusal, job.job_id) ??
    new ApiError(503, 'gpu_unavailable', `no gpu-worker could run the job: ${error.message}`, {
      headers: { 'Retry-After': '5' },
    })
  );
}

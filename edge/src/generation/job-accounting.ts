// Every job that reaches a generation is accounted for here, whichever path runs it (the native,
// OpenAI, A1111 and ComfyUI routes, asynchronous jobs in the queue consumer, Discord):
//   1. admission: a key with a quota has the job's images reserved in its KeyUsage object, or
//      the request is refused with 429 quota_exceeded and Retry-After at the period's end;
//   2. a finished job is recorded once, by job id, in its owner's KeyUsage (images made, cached
//      images apart, steps × pixels, gpu-worker seconds), which also frees its reservation;
//   3. a failed job frees its reservation and counts nothing.
// The operator's counters (jobs by outcome, images by source) move at the same points.
import type { ApiKeyRecord } from '../auth/api-key.ts';
import { ApiError } from '../http/api-error.ts';
import { countLater } from '../metrics/operator-counters.ts';
import type { JobUsage } from '../usage/key-usage.ts';
import type { Prepared } from './prepare-generation.ts';
import {
  type GenerationDeps,
  type GenerationOptions,
  type GenerationOutcome,
  runGeneration,
} from './run-generation.ts';

/** Whose usage a job is: an API key's id, or `discord:<user id>` for Discord's jobs. */
export type UsageOwner = string;

/** Reserves a job's images under the key's quota, or throws the 429; keys without a quota pass freely. */
export async function admitJob(
  env: Env,
  key: Pick<ApiKeyRecord, 'id' | 'quota'>,
  jobId: string,
  images: number,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<void> {
  if (!key.quota) return;
  const admission = await env.KEY_USAGE.getByName(key.id).admit(jobId, images, key.quota);
  if (admission.allowed) return;
  countLater(env, waitUntil, [{ name: 'latent_edge_jobs_total', labels: { outcome: 'refused' } }]);
  const what =
    admission.quota === 'images_per_day'
      ? `${admission.limit} images per UTC day (${admission.used} used or running; this job asks ${images})`
      : `${admission.limit} gpu-worker seconds per UTC month (${admission.used} used)`;
  throw new ApiError(
    429,
    'quota_exceeded',
    `this key's quota is ${what}; it resets in ${admission.retryAfterSeconds} s`,
    { headers: { 'Retry-After': String(admission.retryAfterSeconds) } },
  );
}

/** What a finished job used, from its outcome and the gpu-worker's timings. */
export function jobUsage(outcome: GenerationOutcome): JobUsage {
  const made = outcome.images.filter((image) => !image.cached);
  const steps = outcome.interruptedAtStep ?? outcome.generation.steps;
  const timings = outcome.workerTimingsMs;
  return {
    images: made.length,
    cachedImages: outcome.images.length - made.length,
    stepPixels: made.reduce((sum, image) => sum + steps * image.width * image.height, 0),
    workerMs: timings ? Math.max(0, Math.round(timings.total - timings.queued)) : 0,
  };
}

/** Counts a finished job for its owner (once per job id, however often this is called). */
export async function recordJob(
  env: Env,
  owner: UsageOwner,
  outcome: GenerationOutcome,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<void> {
  const usage = jobUsage(outcome);
  const first = await env.KEY_USAGE.getByName(owner).record(outcome.jobId, usage);
  if (!first) return;
  countLater(env, waitUntil, [
    { name: 'latent_edge_jobs_total', labels: { outcome: usage.images === 0 ? 'cache_hit' : 'completed' } },
    { name: 'latent_edge_images_total', labels: { source: 'gpu' }, by: usage.images },
    { name: 'latent_edge_images_total', labels: { source: 'cache' }, by: usage.cachedImages },
  ]);
}

/** A job that ended without a result: its reservation is freed, nothing is counted against the key. */
export async function releaseJob(
  env: Env,
  owner: UsageOwner,
  jobId: string,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<void> {
  await env.KEY_USAGE.getByName(owner).release(jobId);
  countLater(env, waitUntil, [{ name: 'latent_edge_jobs_total', labels: { outcome: 'failed' } }]);
}

/** runGeneration for a request that waits for its job: admitted, then recorded or released. */
export async function accountedGeneration(
  deps: GenerationDeps,
  key: Pick<ApiKeyRecord, 'id' | 'quota'>,
  prepared: Prepared,
  options: GenerationOptions,
): Promise<GenerationOutcome> {
  const { env, waitUntil } = deps;
  await admitJob(env, key, options.jobId, prepared.generation.images.length, waitUntil);
  let outcome: GenerationOutcome;
  try {
    outcome = await runGeneration(deps, prepared, options);
  } catch (error) {
    // The job's own error is the answer; a failed release is logged (the reservation lapses).
    await releaseJob(env, key.id, options.jobId, waitUntil).catch((failure: unknown) =>
      console.error(`releasing job ${options.jobId}:`, failure),
    );
    throw error;
  }
  await recordJob(env, key.id, outcome, waitUntil);
  return outcome;
}

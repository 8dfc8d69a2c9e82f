// Jobs over Cloudflare Queues (scale-out mode): the edge puts a small message on a per-model,
// per-tier queue; a gpu-worker with a free slot pulls it, claims the job from the edge (which
// answers with the job envelope, the same bytes /v1/generate takes), posts progress while it
// runs and its result when done, and acknowledges the message only after the edge has stored the
// result. Delivery is at least once: the claim lease and its token make the first result the
// only one kept. Every call is signed like edge → worker calls (request-signing.ts), and each
// body names its job, so a signature made for one job proves nothing for another.
import { z } from 'zod';
import { GpuJobEvent } from './job-events.ts';

/** Interactive: someone waits (synchronous API, Discord). Batch: asynchronous jobs. */
export const TIERS = ['interactive', 'batch'] as const;
export type Tier = (typeof TIERS)[number];

const jobId = z.uuid();

/** What a queue message carries: only what routes it (128 KB is far too small for embeddings). */
export const DispatchMessage = z.strictObject({
  job_id: jobId,
  model: z.string().min(1).max(64),
  revision: z.string().min(1).max(64),
  tier: z.enum(TIERS),
  /** ms since the epoch; past it the job is no longer wanted. */
  deadline: z.int().min(0),
});
export type DispatchMessage = z.infer<typeof DispatchMessage>;

/** Queue names allow lowercase letters, digits and dashes: a model id maps onto them. */
export function dispatchQueueName(model: string, tier: Tier): string {
  return `latent-edge-gpu-${model.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${tier}`;
}

/** Where every GPU queue's undeliverable messages go; the edge consumes it and fails their jobs. */
export const DISPATCH_DEAD_LETTER_QUEUE = 'latent-edge-gpu-dead';

/** The edge's producer binding for a model's tier queue (wrangler.toml names it so). */
export function dispatchBindingName(model: string, tier: Tier): string {
  return `GPU_QUEUE_${model.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_${tier.toUpperCase()}`;
}

/** Edge routes the gpu-workers call, under the edge's base URL. */
export const dispatchPath = (jobIdValue: string, action: 'claim' | 'progress' | 'result' | 'failure') =>
  `/internal/gpu/jobs/${encodeURIComponent(jobIdValue)}/${action}`;

/** The claim token, on the claim's answer and on every later call of that attempt. */
export const CLAIM_TOKEN_HEADER = 'X-Claim-Token';
/** When the claim lapses unless progress renews it (ms since the epoch), on the claim's answer. */
export const CLAIM_EXPIRES_HEADER = 'X-Claim-Expires';

export const ClaimRequest = z.strictObject({
  job_id: jobId,
  /** Who claims (for logs and the job record): the worker's name or URL. */
  worker: z.string().min(1).max(200),
  /** The queue message's id and delivery count (1 = first delivery). */
  message_id: z.string().min(1).max(200),
  attempts: z.int().min(1),
});
export type ClaimRequest = z.infer<typeof ClaimRequest>;

/**
 * Why a claim was refused. `claimed`: another worker holds a live lease, so retry the message
 * after Retry-After (the holder may die); the others are final: acknowledge and skip.
 */
export const CLAIM_REFUSALS = ['claimed', 'finished', 'cancelled', 'expired', 'unknown'] as const;
export type ClaimRefusal = (typeof CLAIM_REFUSALS)[number];

/** Progress, batched: the events since the last post (queued, progress, preview). */
export const ProgressReport = z.strictObject({
  job_id: jobId,
  token: z.string().min(1).max(200),
  events: z.array(GpuJobEvent).max(100),
});
export type ProgressReport = z.infer<typeof ProgressReport>;

/** The answer to a progress post: `cancel` tells the worker to stop the job now. */
export const ProgressAnswer = z.strictObject({
  cancel: z.boolean(),
  /** The renewed lease's end (ms since the epoch). */
  expires_at: z.int(),
});
export type ProgressAnswer = z.infer<typeof ProgressAnswer>;

/** A job that could not finish on this worker. */
export const FailureReport = z.strictObject({
  job_id: jobId,
  token: z.string().min(1).max(200),
  /** The worker's error code and message, and the HTTP status it would have answered. */
  code: z.string().min(1).max(100),
  message: z.string().max(2000),
  status: z.int().min(400).max(599),
  /** The job field it blamed, if any (an init image it could not decode). */
  field: z.string().max(100).optional(),
  /** True when another attempt could succeed (the worker will retry the message). */
  retryable: z.boolean(),
});
export type FailureReport = z.infer<typeof FailureReport>;

/** The edge's answer to a result or failure: what it did with it. */
export const ReportAnswer = z.strictObject({
  /** `stored`: this result is the job's; `duplicate`: another attempt's came first (or it ended). */
  outcome: z.enum(['stored', 'duplicate', 'recorded']),
});
export type ReportAnswer = z.infer<typeof ReportAnswer>;

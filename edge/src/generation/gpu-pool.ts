// Sends a signed job to the gpu-workers listed in GPU_WORKERS. Health is passive: a worker that
// fails (network error, timeout, 5xx, a full queue) is tried last for a while, and among healthy
// workers the choice is random so load spreads without coordination between isolates. A failed
// attempt is retried once on another worker with the same job id, so a retry can never produce a
// second, different set of images; a timed-out attempt is cancelled on its worker.
import { jobActionMessage, signRequest } from '@latent-edge/shared/crypto/request-signing';
import {
  type GpuResponse,
  GpuWorkerError,
  readGpuResponse,
  signedJobRequest,
} from '@latent-edge/shared/protocol/gpu-client';
import type { GpuJob } from '@latent-edge/shared/protocol/gpu-job';
import type { z } from 'zod';
import { ApiError } from '../http/api-error.ts';

/** How long a failed worker is tried last, unless it said when to come back (Retry-After). */
const PENALTY_MS = 30_000;
/** Retry-After sent to clients when every worker is busy or down and none said how long. */
const DEFAULT_RETRY_AFTER_SECONDS = 5;

/** Per isolate: when each failed worker may be preferred again. */
const penaltyUntil = new Map<string, number>();

/** Healthy workers first, in random order; then penalised ones, the soonest-recovering first. */
export function orderWorkers(workers: readonly string[], now = Date.now()): string[] {
  const healthy = workers.filter((w) => (penaltyUntil.get(w) ?? 0) <= now);
  for (let i = healthy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [healthy[i], healthy[j]] = [healthy[j], healthy[i]];
  }
  const penalised = workers
    .filter((w) => (penaltyUntil.get(w) ?? 0) > now)
    .sort((a, b) => (penaltyUntil.get(a) ?? 0) - (penaltyUntil.get(b) ?? 0));
  return [...healthy, ...penalised];
}

export interface SendJobOptions {
  workers: readonly string[];
  secret: string;
  timeoutMs: number;
  job: z.input<typeof GpuJob>;
  parts: Record<string, Uint8Array>;
  /** Called before each attempt, e.g. to record where a job runs so it can be cancelled. */
  onAttempt?: (worker: string) => Promise<void> | void;
  /** Runs a promise past the response (ctx.waitUntil): cancelling a timed-out attempt. */
  waitUntil?: (promise: Promise<unknown>) => void;
}

export interface SentJob {
  response: GpuResponse;
  worker: string;
}

/** Statuses that say the job itself is wrong: another worker would refuse it too. */
const FINAL_STATUSES = new Set([400, 401, 413, 415]);
/** The job's picture fields, by the worker's name, and the request field each came from. */
const PICTURE_FIELDS: Readonly<Record<string, string>> = {
  init_image: 'init_image',
  mask: 'mask',
  'inpaint.mask': 'mask',
};

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
}

/**
 * What a worker's refusal means for the request, when no other worker would answer otherwise:
 * cancelled (409), the client's pictures (400, the worker alone decodes them), or a job the
 * worker finds wrong (502). Undefined when another attempt may succeed.
 */
export function finalWorkerError(error: GpuWorkerError, jobId: string): ApiError | undefined {
  if (error.code === 'cancelled') return new ApiError(409, 'cancelled', `job ${jobId} was cancelled`);
  const pictureField = error.status === 400 && PICTURE_FIELDS[error.field ?? ''];
  if (pictureField) return new ApiError(400, 'invalid_request', error.message, { field: pictureField });
  if (FINAL_STATUSES.has(error.status)) {
    return new ApiError(502, 'gpu_rejected', `the gpu-worker refused the job: ${error.message}`, {
      cause: error,
    });
  }
  return undefined;
}

export async function sendJob(options: SendJobOptions): Promise<SentJob> {
  const { secret, timeoutMs, job, parts } = options;
  const candidates = orderWorkers(options.workers).slice(0, 2);
  const failures: string[] = [];
  let retryAfter = 0;
  let timedOut = false;
  for (const worker of candidates) {
    await options.onAttempt?.(worker);
    try {
      const request = await signedJobRequest(`${worker}/v1/generate`, secret, job, parts, {
        signal: AbortSignal.timeout(timeoutMs),
      });
      const response = await readGpuResponse(await fetch(request));
      penaltyUntil.delete(worker);
      return { response, worker };
    } catch (error) {
      const final = error instanceof GpuWorkerError ? finalWorkerError(error, job.job_id) : undefined;
      if (final) throw final;
      const seconds = error instanceof GpuWorkerError ? (error.retryAfterSeconds ?? 0) : 0;
      retryAfter = Math.max(retryAfter, seconds);
      penaltyUntil.set(worker, Date.now() + Math.max(PENALTY_MS, seconds * 1000));
      if (isTimeout(error)) {
        timedOut = true;
        options.waitUntil?.(cancelJobOnWorker(worker, secret, job.job_id).catch(() => undefined));
        failures.push(`${worker}: no answer within ${timeoutMs} ms`);
      } else {
        failures.push(`${worker}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
  const detail = failures.join('; ');
  if (timedOut && retryAfter === 0) {
    throw new ApiError(504, 'gpu_timeout', `no gpu-worker finished the job in time (${detail})`);
  }
  throw new ApiError(503, 'gpu_unavailable', `no gpu-worker could take the job (${detail})`, {
    headers: { 'Retry-After': String(retryAfter || DEFAULT_RETRY_AFTER_SECONDS) },
  });
}

/** Forwards a cancel to the worker running a job (empty body; signs the cancel and the job id). */
export function cancelJobOnWorker(worker: string, secret: string, jobId: string): Promise<boolean> {
  return jobActionOnWorker(worker, secret, jobId, 'cancel');
}

/**
 * Asks the worker to end a job at its next step and answer with images of where it got to
 * (A1111's interrupt). False when the worker no longer has the job.
 */
export function interruptJobOnWorker(worker: string, secret: string, jobId: string): Promise<boolean> {
  return jobActionOnWorker(worker, secret, jobId, 'interrupt');
}

async function jobActionOnWorker(
  worker: string,
  secret: string,
  jobId: string,
  action: 'cancel' | 'interrupt',
): Promise<boolean> {
  const headers = new Headers(Object.entries(await signRequest(secret, jobActionMessage(action, jobId))));
  const path = `${worker}/v1/jobs/${encodeURIComponent(jobId)}`;
  const response = await fetch(action === 'cancel' ? path : `${path}/interrupt`, {
    method: action === 'cancel' ? 'DELETE' : 'POST',
    headers,
    signal: AbortSignal.timeout(10_000),
  });
  await response.body?.cancel();
  return response.ok;
}

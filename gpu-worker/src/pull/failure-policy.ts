// What a pulled job's failure means for the edge and for the queue. Only a job that never
// started may be tried again elsewhere: this worker was busy, draining or not ready (503), it
// serves another revision of the model, or the edge could not be reached. The job's own errors
// (a bad init image, its deadline passed, the generation failed) would fail the same way on any
// worker, so they are final. A retryable failure on the last delivery the consumer allows is
// reported as final, with how many deliveries were tried, so the job fails with a reason instead
// of going quietly to the dead-letter queue.
import type { FailureReport } from '@latent-edge/shared/protocol/dispatch';
import { ServiceError } from '../service/service-error.ts';
import { EdgeCallError } from './edge-client.ts';

/** A failure as the worker would have answered it over HTTP, and whether another try could work. */
export interface JobFailure {
  code: string;
  message: string;
  status: number;
  field?: string;
  retryable: boolean;
  retryAfterSeconds?: number;
}

/** What to do with the message after a failure. */
export type QueueAction = { kind: 'ack' } | { kind: 'retry'; delaySeconds: number };

export interface FailurePlan {
  report: Omit<FailureReport, 'job_id' | 'token'>;
  queue: QueueAction;
}

/** Errors that mean "not on this worker, not now", never "not this job". */
const RETRYABLE_CODES = new Set(['draining', 'not_ready', 'queue_full', 'revision_mismatch']);

/** Cloudflare caps a retry's delay at 12 hours; ours stay far below. */
const MAX_RETRY_DELAY_SECONDS = 60;

export function classifyFailure(error: unknown): JobFailure {
  if (error instanceof ServiceError) {
    return {
      code: error.code,
      message: error.message,
      status: error.status,
      field: error.options.field,
      retryable: error.status === 503 || RETRYABLE_CODES.has(error.code),
      retryAfterSeconds: error.options.retryAfterSeconds,
    };
  }
  if (error instanceof EdgeCallError) {
    return { code: 'edge_unreachable', message: error.message, status: 503, retryable: true };
  }
  return {
    code: 'internal',
    message: `internal error: ${(error as Error)?.message ?? String(error)}`,
    status: 500,
    retryable: false,
  };
}

/** The retry delay: the worker's own Retry-After when it had one, else 1, 2, 4 … s by delivery. */
export function retryDelaySeconds(attempts: number, retryAfterSeconds?: number): number {
  const delay = retryAfterSeconds ?? 2 ** Math.max(0, attempts - 1);
  return Math.min(MAX_RETRY_DELAY_SECONDS, Math.max(0, Math.ceil(delay)));
}

export function planFailure(failure: JobFailure, attempts: number, maxAttempts: number): FailurePlan {
  const { code, status, field } = failure;
  const base = { code, status, ...(field ? { field } : {}) };
  if (!failure.retryable) {
    return { report: { ...base, message: failure.message, retryable: false }, queue: { kind: 'ack' } };
  }
  if (attempts >= maxAttempts) {
    return {
      report: {
        ...base,
        message: `gave up after ${attempts} deliveries: ${failure.message}`,
        retryable: false,
      },
      queue: { kind: 'ack' },
    };
  }
  return {
    report: { ...base, message: failure.message, retryable: true },
    queue: { kind: 'retry', delaySeconds: retryDelaySeconds(attempts, failure.retryAfterSeconds) },
  };
}

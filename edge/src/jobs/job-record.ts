// An asynchronous job as GET /v1/jobs/:id shows it. Kept by the job's JobState Durable Object;
// the owner is the API key id that created it (other keys get a 404).
import type { GpuJobEvent } from '@latent-edge/shared/protocol/job-events';
import type { ImagesResponse } from '../generation/images-response.ts';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export const FINISHED: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'cancelled']);

/** Where a running job is, from the gpu-worker's events: its place in the queue, or step i of N. */
export interface JobProgress {
  /** 1 = next to start on the gpu-worker; null once it runs. */
  queue_position: number | null;
  step: number;
  steps: number | null;
  elapsed_ms: number | null;
  /** Remaining denoising time at the pace so far. */
  eta_ms: number | null;
}

/** The gpu-worker events a job's record and streams take in (the outcome comes from the POST). */
export type RelayedEvent = Extract<GpuJobEvent, { type: 'queued' | 'progress' | 'preview' }>;

export function isRelayed(event: GpuJobEvent): event is RelayedEvent {
  return event.type === 'queued' || event.type === 'progress' || event.type === 'preview';
}

export function progressOf(event: Extract<GpuJobEvent, { type: 'queued' | 'progress' }>): JobProgress {
  return event.type === 'queued'
    ? { queue_position: event.position, step: 0, steps: null, elapsed_ms: null, eta_ms: null }
    : {
        queue_position: null,
        step: event.step,
        steps: event.steps,
        elapsed_ms: event.elapsed_ms,
        eta_ms: event.eta_ms,
      };
}

export interface JobRecord {
  id: string;
  owner: string;
  status: JobStatus;
  created_at: string;
  updated_at: string;
  /** Times the queue consumer has started the job (retries after a gpu-worker outage count). */
  attempts: number;
  /** The gpu-worker of the latest attempt, so a cancel can be forwarded to it. */
  worker?: string;
  /** The latest progress while queued or running (kept after the end as it last was). */
  progress?: JobProgress;
  result?: ImagesResponse;
  error?: { code: string; message: string };
  /** Where the outcome is POSTed (signed), and how that went. */
  webhook?: {
    url: string;
    attempts: number;
    delivered_at?: string;
    last_error?: string;
    /** Whether the webhook also gets progress (at most one call per PROGRESS_WEBHOOK_INTERVAL_MS). */
    progress?: boolean;
  };
  /** Public origin of the API when the job was created, for the URLs in its result. */
  base_url: string;
}

/** Job ids are UUIDs; anything else is not a job (and must not name a Durable Object). */
export const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The SSE event that ends a job's stream, by its final status. */
export const FINAL_EVENT: Readonly<Record<string, 'done' | 'failed' | 'cancelled'>> = {
  succeeded: 'done',
  failed: 'failed',
  cancelled: 'cancelled',
};

export function jobView(record: JobRecord) {
  const { owner: _owner, worker: _worker, base_url: baseUrl, ...visible } = record;
  return { ...visible, url: `${baseUrl}/v1/jobs/${record.id}` };
}

/** A job that has just been accepted: queued, no attempts, owned by `owner`, URLs under `baseUrl`. */
export function queuedRecord(id: string, owner: string, baseUrl: string, now = new Date()): JobRecord {
  const at = now.toISOString();
  return { id, owner, status: 'queued', created_at: at, updated_at: at, attempts: 0, base_url: baseUrl };
}

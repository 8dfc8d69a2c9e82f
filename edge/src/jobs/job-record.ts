// An asynchronous job as GET /v1/jobs/:id shows it. Kept by the job's JobState Durable Object;
// the owner is the API key id that created it (other keys get a 404).
import type { ImagesResponse } from '../generation/images-response.ts';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export const FINISHED: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'cancelled']);

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
  result?: ImagesResponse;
  error?: { code: string; message: string };
  /** Where the outcome is POSTed (signed), and how that went. */
  webhook?: { url: string; attempts: number; delivered_at?: string; last_error?: string };
  /** Public origin of the API when the job was created, for the URLs in its result. */
  base_url: string;
}

/** Job ids are UUIDs; anything else is not a job (and must not name a Durable Object). */
export const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function jobView(record: JobRecord) {
  const { owner: _owner, worker: _worker, base_url: baseUrl, ...visible } = record;
  return { ...visible, url: `${baseUrl}/v1/jobs/${record.id}` };
}

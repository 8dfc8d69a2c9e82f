// GET /v1/jobs/:id, GET /v1/jobs/:id/events and DELETE /v1/jobs/:id: an asynchronous job's state,
// its progress as server-sent events, and cancelling it. A job is visible only to the key that
// created it; to any other key it does not exist (404). A cancel of a running job is forwarded to
// the gpu-worker running it, which drops it at the next step.
import { EVENT_STREAM_CONTENT_TYPE } from '@latent-edge/shared/sse/server-sent-events';
import { Hono } from 'hono';
import type { AppEnv } from '../env.ts';
import { cancelJobOnWorker } from '../generation/gpu-pool.ts';
import { ApiError } from '../http/api-error.ts';
import { FINISHED, JOB_ID, type JobRecord, jobView } from '../jobs/job-record.ts';

export const jobs = new Hono<AppEnv>();

function notFound(id: string): ApiError {
  return new ApiError(404, 'not_found', `no job ${JSON.stringify(id.slice(0, 100))} for this API key`);
}

function jobState(env: Env, id: string) {
  if (!JOB_ID.test(id)) throw notFound(id);
  return env.JOB_STATE.getByName(id);
}

function ownRecord(record: JobRecord | null, id: string, owner: string): JobRecord {
  if (!record || record.owner !== owner) throw notFound(id);
  return record;
}

jobs.get('/:id', async (c) => {
  const id = c.req.param('id');
  const record = ownRecord(await jobState(c.env, id).get(), id, c.var.apiKey.id);
  return c.json(jobView(record));
});

/** Last-Event-ID as the stream wrote it (a non-negative integer); anything else starts afresh. */
function lastEventId(header: string | undefined): number | undefined {
  return header && /^\d{1,15}$/.test(header.trim()) ? Number(header.trim()) : undefined;
}

// The job's stream: where it is now (or, with Last-Event-ID, everything since), then queued /
// progress / preview events as the gpu-worker sends them, keep-alive comments every 15 s, and a
// final done / failed / cancelled event carrying the job as GET /v1/jobs/:id shows it.
jobs.get('/:id/events', async (c) => {
  const id = c.req.param('id');
  const state = jobState(c.env, id);
  ownRecord(await state.get(), id, c.var.apiKey.id);
  const stream = await state.stream(lastEventId(c.req.header('Last-Event-ID')));
  // c.body, not a new Response: the RateLimit-* headers the middleware set stay on the answer.
  return c.body(stream, 200, {
    'Content-Type': EVENT_STREAM_CONTENT_TYPE,
    'Cache-Control': 'no-store',
    'X-Accel-Buffering': 'no',
  });
});

jobs.delete('/:id', async (c) => {
  const id = c.req.param('id');
  const state = jobState(c.env, id);
  const before = ownRecord(await state.get(), id, c.var.apiKey.id);
  if (before.status === 'succeeded' || before.status === 'failed') {
    throw new ApiError(409, 'job_finished', `job ${id} already ${before.status}; nothing to cancel`);
  }
  if (!FINISHED.has(before.status)) {
    await state.cancel();
    if (before.webhook) await c.env.JOBS.send({ type: 'webhook', job_id: id }, { contentType: 'json' });
    if (before.status === 'running' && before.worker) {
      const secret = c.var.config.GPU_SHARED_SECRET;
      // Best effort: the job may have just finished there; the record says cancelled either way.
      c.executionCtx.waitUntil(cancelJobOnWorker(before.worker, secret, id).catch(() => false));
    }
  }
  return c.json(jobView(ownRecord(await state.get(), id, c.var.apiKey.id)));
});

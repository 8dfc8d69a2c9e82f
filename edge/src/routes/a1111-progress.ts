// GET /sdapi/v1/progress, POST /sdapi/v1/interrupt and /skip (A1111 modules/api/api.py
// `progressapi`, `interruptapi`, `skip`), for the calling key's latest txt2img or img2img job: the A1111 web
// UI runs one job at a time, and its clients poll /progress beside their txt2img request. The
// step, ETA and preview come from the job's JobState, as GET /v1/jobs/:id/events relays them.
import { type Context, Hono } from 'hono';
import type { A1111Job } from '../durable-objects/a1111-session.ts';
import type { AppEnv } from '../env.ts';
import { cancelJobOnWorker, interruptJobOnWorker } from '../generation/gpu-pool.ts';
import type { JobRecord } from '../jobs/job-record.ts';

export const a1111Progress = new Hono<AppEnv>();

/** `shared.state.dict()` as A1111 answers it when nothing runs. */
const IDLE_STATE = {
  skipped: false,
  interrupted: false,
  stopping_generation: false,
  job: '',
  job_count: 0,
  job_timestamp: '0',
  job_no: 0,
  sampling_step: 0,
  sampling_steps: 0,
};

const IDLE = { progress: 0, eta_relative: 0, state: IDLE_STATE, current_image: null, textinfo: null };

/** A job whose request should have answered long ago (its isolate went away) is not running. */
function isStale(job: A1111Job, timeoutMs: number): boolean {
  return Date.now() - job.started_at > 2 * timeoutMs + 60_000;
}

function progressOf(job: A1111Job, record: JobRecord, preview: string | null) {
  const p = record.progress;
  const steps = p?.steps ?? 0;
  const step = p?.step ?? 0;
  const queued = p === undefined || p.queue_position !== null;
  return {
    progress: steps > 0 ? Math.min(1, step / steps) : 0,
    eta_relative: p?.eta_ms ? p.eta_ms / 1000 : 0,
    state: {
      ...IDLE_STATE,
      skipped: job.stopped === 'skipped',
      interrupted: job.stopped === 'interrupted' || record.status === 'cancelled',
      job: job.kind,
      job_count: 1,
      job_timestamp: job.timestamp,
      sampling_step: step,
      sampling_steps: steps,
    },
    // A1111 sends a PNG; the gpu-worker's previews are small WebPs, which its clients' image
    // decoders (PIL, browsers) read as well.
    current_image: preview === null ? null : preview.slice(preview.indexOf(',') + 1),
    textinfo: queued ? `Queued${p?.queue_position ? `: position ${p.queue_position}` : ''}` : null,
  };
}

a1111Progress.get('/progress', async (c) => {
  const job = await c.env.A1111_SESSION.getByName(c.var.apiKey.id).current();
  if (!job || isStale(job, c.var.config.GPU_TIMEOUT_MS)) return c.json(IDLE);
  const state = c.env.JOB_STATE.getByName(job.id);
  const record = await state.get();
  if (!record || record.owner !== c.var.apiKey.id) return c.json(IDLE);
  const skipImage = c.req.query('skip_current_image') === 'true';
  const preview = skipImage ? null : ((await state.latestPreview())?.image ?? null);
  return c.json(progressOf(job, record, preview));
});

/**
 * Stops the key's running job as A1111 does: a job on a gpu-worker ends at its next step and the
 * waiting request answers with images of where it got to; one not on a worker yet (or whose
 * worker no longer has it) is cancelled, like DELETE /v1/jobs.
 */
async function stopCurrent(c: Context<AppEnv>, how: 'interrupted' | 'skipped'): Promise<void> {
  const job = await c.env.A1111_SESSION.getByName(c.var.apiKey.id).stop(how);
  if (!job) return;
  const state = c.env.JOB_STATE.getByName(job.id);
  const record = await state.get();
  const secret = c.var.config.GPU_SHARED_SECRET;
  if (record?.status === 'running' && record.worker) {
    const interrupted = await interruptJobOnWorker(record.worker, secret, job.id).catch(() => false);
    if (interrupted) return;
  }
  const before = await state.cancel();
  if (before?.status === 'running' && before.worker) {
    c.executionCtx.waitUntil(cancelJobOnWorker(before.worker, secret, job.id).catch(() => false));
  }
}

// A1111 answers {} however things stood; so does this, with nothing running or already done.
a1111Progress.post('/interrupt', async (c) => {
  await stopCurrent(c, 'interrupted');
  return c.json({});
});

// A1111's skip ends the current image of a batch and goes on with the next; here a batch is one
// gpu-worker job, so skipping it ends the request's job like an interrupt. A1111 answers null.
a1111Progress.post('/skip', async (c) => {
  await stopCurrent(c, 'skipped');
  return c.json(null);
});

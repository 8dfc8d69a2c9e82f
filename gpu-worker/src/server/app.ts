// The gpu-worker's HTTP API (Hono on Node): signed jobs in, image bytes out, in the binary
// envelope; a job's progress as server-sent events; cancel; health, readiness and Prometheus
// metrics. One error path: ServiceError →
// the shared JSON error shape with its status (and Retry-After when the queue is full).
import type { MessagePart } from '@latent-edge/shared/crypto/hmac';
import {
  jobActionMessage,
  ReplayGuard,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifyRequest,
} from '@latent-edge/shared/crypto/request-signing';
import { ENVELOPE_CONTENT_TYPE } from '@latent-edge/shared/protocol/envelope';
import { EVENT_STREAM_CONTENT_TYPE } from '@latent-edge/shared/sse/server-sent-events';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Config } from '../config.ts';
import type { LoraVariants } from '../lora/lora-variants.ts';
import type { DiffusionModel } from '../model/diffusion-model.ts';
import type { Job } from '../service/job.ts';
import { admitJob } from '../service/job-intake.ts';
import type { Metrics } from '../service/metrics.ts';
import { resultEnvelope } from '../service/result-envelope.ts';
import { ServiceError } from '../service/service-error.ts';
import type { StepBatcher } from '../service/step-batcher.ts';
import { jobEventStream } from './job-event-stream.ts';

/** How long an event stream waits for a job that has not arrived yet. */
const EVENTS_WAIT_MS = 5000;

export interface WorkerState {
  ready: boolean;
  draining: boolean;
}

export interface AppDeps {
  config: Pick<Config, 'GPU_SHARED_SECRET' | 'JOB_TIMEOUT_MS' | 'MAX_BODY_BYTES'>;
  models: ReadonlyMap<string, DiffusionModel>;
  batchers: ReadonlyMap<string, StepBatcher>;
  /** Per model id: its LoRAs and their merged sessions; a model absent here has none. */
  loras?: ReadonlyMap<string, LoraVariants>;
  metrics: Metrics;
  state: WorkerState;
}

export function createApp(deps: AppDeps): Hono {
  const { config, models, batchers, metrics, state } = deps;
  // Filled in as models load, after the app exists: always read through.
  const loras = deps.loras ?? new Map<string, LoraVariants>();
  const intake = { models, batchers, loras, jobTimeoutMs: config.JOB_TIMEOUT_MS };
  const replayGuard = new ReplayGuard();
  const jobs = new Map<string, Job>();
  /** Event streams opened a moment before their job's POST arrived, waiting for it. */
  const arrivals = new Map<string, Set<(job: Job) => void>>();
  const app = new Hono();

  const addJob = (job: Job) => {
    jobs.set(job.id, job);
    for (const resolve of arrivals.get(job.id) ?? []) resolve(job);
    arrivals.delete(job.id);
  };

  /** The job, waiting up to `waitMs` for it to arrive; undefined if it never does. */
  const findJob = (id: string, waitMs: number, signal: AbortSignal) => {
    const known = jobs.get(id);
    if (known) return Promise.resolve(known);
    return new Promise<Job | undefined>((resolve) => {
      const waiters = arrivals.get(id) ?? new Set();
      arrivals.set(id, waiters);
      const settle = (job: Job | undefined) => {
        clearTimeout(timer);
        waiters.delete(settle);
        if (waiters.size === 0 && arrivals.get(id) === waiters) arrivals.delete(id);
        resolve(job);
      };
      const timer = setTimeout(() => settle(undefined), waitMs);
      signal.addEventListener('abort', () => settle(undefined), { once: true });
      waiters.add(settle);
    });
  };

  const renderError = (c: Context, failure: ServiceError) => {
    metrics.errors.inc({ code: failure.code });
    if (failure.options.retryAfterSeconds) c.header('Retry-After', String(failure.options.retryAfterSeconds));
    return c.json(failure.toJSON(), failure.status);
  };

  const verify = async (body: MessagePart, headers: Headers) => {
    const result = await verifyRequest(
      config.GPU_SHARED_SECRET,
      body,
      headers.get(TIMESTAMP_HEADER),
      headers.get(SIGNATURE_HEADER),
      { replayGuard },
    );
    if (!result.ok)
      throw new ServiceError(401, 'unauthorized', `request signature rejected: ${result.reason}`);
  };

  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.get('/readyz', (c) => {
    if (state.draining) return c.json({ error: { code: 'draining', message: 'shutting down' } }, 503);
    if (!state.ready) return c.json({ error: { code: 'not_ready', message: 'models are loading' } }, 503);
    const served = [...models.values()].map((m) => ({
      id: m.id,
      revision: m.revision,
      provider: m.provider,
      queue_depth: batchers.get(m.id)?.queueDepth ?? 0,
      running_jobs: batchers.get(m.id)?.runningCount ?? 0,
    }));
    return c.json({ status: 'ready', models: served });
  });

  app.get('/metrics', async (c) =>
    c.text(await metrics.registry.metrics(), 200, { 'Content-Type': metrics.registry.contentType }),
  );

  app.post(
    '/v1/generate',
    bodyLimit({
      maxSize: config.MAX_BODY_BYTES,
      onError: (c) =>
        renderError(
          c,
          new ServiceError(413, 'too_large', `job bodies are limited to ${config.MAX_BODY_BYTES} bytes`),
        ),
    }),
    async (c) => {
      const body = new Uint8Array(await c.req.arrayBuffer());
      await verify(body, c.req.raw.headers);
      if (state.draining) {
        throw new ServiceError(503, 'draining', 'this worker is shutting down; use another', {
          retryAfterSeconds: 5,
        });
      }
      if (!state.ready)
        throw new ServiceError(503, 'not_ready', 'models are still loading', { retryAfterSeconds: 5 });
      const { job, spec, model, release } = await admitJob(intake, body, {
        isDuplicate: (id) => jobs.has(id),
      });
      addJob(job);
      // A client that goes away cancels its job, which leaves the batch at the next step.
      const onAbort = () => job.cancel();
      c.req.raw.signal.addEventListener('abort', onAbort);
      try {
        const outcome = await job.done;
        const bytes = resultEnvelope(job, model, outcome, spec.return_embeddings);
        return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { 'Content-Type': ENVELOPE_CONTENT_TYPE });
      } finally {
        c.req.raw.signal.removeEventListener('abort', onAbort);
        jobs.delete(job.id);
        // The job has left the batcher (done, failed or cancelled): its LoRA set may be evicted.
        release();
      }
    },
  );

  // The job's progress: where it is now, then every event until it ends. The edge usually opens
  // this just after sending the job, so a job that has not arrived yet is waited for briefly.
  app.get('/v1/jobs/:id/events', async (c) => {
    const id = c.req.param('id');
    await verify(jobActionMessage('events', id), c.req.raw.headers);
    const job = await findJob(id, EVENTS_WAIT_MS, c.req.raw.signal);
    if (!job) throw new ServiceError(404, 'not_found', `no job ${id} is queued or running here`);
    return new Response(jobEventStream(job, c.req.raw.signal), {
      headers: {
        'Content-Type': EVENT_STREAM_CONTENT_TYPE,
        'Cache-Control': 'no-store',
        'X-Accel-Buffering': 'no',
      },
    });
  });

  // A1111's interrupt: the job ends at the next step and answers with images of where it got to.
  app.post('/v1/jobs/:id/interrupt', async (c) => {
    if ((await c.req.arrayBuffer()).byteLength > 0)
      throw new ServiceError(400, 'invalid_request', 'an interrupt has no body');
    await verify(jobActionMessage('interrupt', c.req.param('id')), c.req.raw.headers);
    const job = jobs.get(c.req.param('id'));
    if (!job?.interrupt())
      throw new ServiceError(404, 'not_found', `no job ${c.req.param('id')} is queued or running here`);
    return c.json({
      id: job.id,
      state: job.state === 'cancelled' ? 'cancelled' : 'interrupted',
      step: job.stepsDone,
    });
  });

  app.delete('/v1/jobs/:id', async (c) => {
    if ((await c.req.arrayBuffer()).byteLength > 0)
      throw new ServiceError(400, 'invalid_request', 'a cancel has no body');
    await verify(jobActionMessage('cancel', c.req.param('id')), c.req.raw.headers);
    const job = jobs.get(c.req.param('id'));
    if (!job)
      throw new ServiceError(404, 'not_found', `no job ${c.req.param('id')} is queued or running here`);
    job.cancel();
    // The steps done when the cancel arrived: at most the one in flight completes after it.
    return c.json({ id: job.id, state: 'cancelled', step: job.stepsDone });
  });

  app.notFound((c) =>
    renderError(c, new ServiceError(404, 'not_found', `no route ${c.req.method} ${c.req.path}`)),
  );

  app.onError((error, c) => {
    if (!(error instanceof ServiceError)) console.error(error);
    return renderError(
      c,
      error instanceof ServiceError ? error : new ServiceError(500, 'internal', 'internal error'),
    );
  });

  return app;
}

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
import { ENVELOPE_CONTENT_TYPE, encodeEnvelope, float32Bytes } from '@latent-edge/shared/protocol/envelope';
import type { GpuResult } from '@latent-edge/shared/protocol/gpu-job';
import { EVENT_STREAM_CONTENT_TYPE } from '@latent-edge/shared/sse/server-sent-events';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Config } from '../config.ts';
import type { LoraChoice, LoraVariants, VariantLease } from '../lora/lora-variants.ts';
import type { DiffusionModel } from '../model/diffusion-model.ts';
import { Job, type JobOutcome } from '../service/job.ts';
import type { Metrics } from '../service/metrics.ts';
import { ServiceError } from '../service/service-error.ts';
import type { StepBatcher } from '../service/step-batcher.ts';
import { jobEventStream } from './job-event-stream.ts';
import { readJob } from './read-job.ts';

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

function resultEnvelope(
  job: Job,
  model: DiffusionModel,
  outcome: JobOutcome,
  returnEmbeddings: boolean,
): Uint8Array {
  const parts: Record<string, Uint8Array> = {};
  const images = outcome.images.map((image, i) => {
    parts[`image${i}`] = image.bytes;
    return {
      seed: image.seed,
      part: `image${i}`,
      content_type: image.contentType,
      width: image.width,
      height: image.height,
    };
  });
  const { hiddenSize: hidden, pooledSize } = model.spec;
  // [rows, hidden] then the pooled values; an absent (or zeroed SDXL) negative is empty.
  const shape = (values: Float32Array) => {
    const pooled = values.length > 0 ? pooledSize : 0;
    return { shape: [(values.length - pooled) / hidden, hidden] as [number, number], pooled };
  };
  let embeddings: GpuResult['embeddings'];
  const { promptEmbedding, negativeEmbedding } = outcome.prompts;
  if (returnEmbeddings && !outcome.prompts.fromCache) {
    parts.prompt_embedding = float32Bytes(promptEmbedding);
    const negative = negativeEmbedding ?? new Float32Array(0);
    parts.negative_prompt_embedding = float32Bytes(negative);
    embeddings = {
      prompt: { part: 'prompt_embedding', ...shape(promptEmbedding) },
      negative_prompt: { part: 'negative_prompt_embedding', ...shape(negative) },
    };
  }
  const head: GpuResult = {
    job_id: job.id,
    model: model.id,
    revision: model.revision,
    images,
    timings_ms: outcome.timingsMs,
    embeddings_cached: outcome.prompts.fromCache,
    embeddings,
    interrupted_at_step: job.endedEarlyAt,
  };
  return encodeEnvelope(head, parts);
}

/** The model with the job's LoRAs merged in (built or from the cache); none for a plain job. */
async function acquireVariant(
  variants: LoraVariants | undefined,
  choices: readonly LoraChoice[],
): Promise<VariantLease | undefined> {
  if (!variants || choices.length === 0) return undefined;
  try {
    return await variants.acquire(choices);
  } catch (error) {
    throw new ServiceError(500, 'lora_failed', `merging the LoRAs failed: ${(error as Error).message}`);
  }
}

export function createApp(deps: AppDeps): Hono {
  const { config, models, batchers, metrics, state } = deps;
  // Filled in as models load, after the app exists: always read through.
  const loras = deps.loras ?? new Map<string, LoraVariants>();
  const libraryOf = (id: string) => loras.get(id)?.library;
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
      const { job: spec, model, request, loras: choices } = readJob(body, models, libraryOf);
      if (jobs.has(spec.job_id)) {
        throw new ServiceError(409, 'duplicate_job', `job ${spec.job_id} is already running here`, {
          field: 'job_id',
        });
      }
      const lease = await acquireVariant(loras.get(model.id), choices);
      const job = new Job(
        spec.job_id,
        request,
        Math.min(spec.timeout_ms ?? config.JOB_TIMEOUT_MS, config.JOB_TIMEOUT_MS),
        lease?.model,
      );
      const batcher = batchers.get(model.id) as StepBatcher;
      try {
        batcher.submit(job);
      } catch (error) {
        lease?.release();
        throw error;
      }
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
        lease?.release();
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

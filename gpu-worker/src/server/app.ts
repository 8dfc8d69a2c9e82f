// The gpu-worker's HTTP API (Hono on Node): signed jobs in, image bytes out, in the binary
// envelope; cancel; health, readiness and Prometheus metrics. One error path: ServiceError →
// the shared JSON error shape with its status (and Retry-After when the queue is full).
import {
  ReplayGuard,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifyRequest,
} from '@latent-edge/shared/crypto/request-signing';
import { ENVELOPE_CONTENT_TYPE, encodeEnvelope, float32Bytes } from '@latent-edge/shared/protocol/envelope';
import type { GpuResult } from '@latent-edge/shared/protocol/gpu-job';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Config } from '../config.ts';
import type { DiffusionModel } from '../model/diffusion-model.ts';
import { Job, type JobOutcome } from '../service/job.ts';
import type { Metrics } from '../service/metrics.ts';
import { ServiceError } from '../service/service-error.ts';
import type { StepBatcher } from '../service/step-batcher.ts';
import { readJob } from './read-job.ts';

export interface WorkerState {
  ready: boolean;
  draining: boolean;
}

export interface AppDeps {
  config: Pick<Config, 'GPU_SHARED_SECRET' | 'JOB_TIMEOUT_MS' | 'MAX_BODY_BYTES'>;
  models: ReadonlyMap<string, DiffusionModel>;
  batchers: ReadonlyMap<string, StepBatcher>;
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
  const hidden = model.spec.hiddenSize;
  let embeddings: GpuResult['embeddings'];
  const { promptEmbedding, negativeEmbedding } = outcome.prompts;
  if (returnEmbeddings && !outcome.prompts.fromCache) {
    parts.prompt_embedding = float32Bytes(promptEmbedding);
    const negative = negativeEmbedding ?? new Float32Array(0);
    parts.negative_prompt_embedding = float32Bytes(negative);
    embeddings = {
      prompt: { part: 'prompt_embedding', shape: [promptEmbedding.length / hidden, hidden] },
      negative_prompt: { part: 'negative_prompt_embedding', shape: [negative.length / hidden, hidden] },
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
  };
  return encodeEnvelope(head, parts);
}

export function createApp(deps: AppDeps): Hono {
  const { config, models, batchers, metrics, state } = deps;
  const replayGuard = new ReplayGuard();
  const jobs = new Map<string, Job>();
  const app = new Hono();

  const renderError = (c: Context, failure: ServiceError) => {
    metrics.errors.inc({ code: failure.code });
    if (failure.options.retryAfterSeconds) c.header('Retry-After', String(failure.options.retryAfterSeconds));
    return c.json(failure.toJSON(), failure.status);
  };

  const verify = async (body: Uint8Array, headers: Headers) => {
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
      const { job: spec, model, request } = readJob(body, models);
      if (jobs.has(spec.job_id)) {
        throw new ServiceError(409, 'duplicate_job', `job ${spec.job_id} is already running here`, {
          field: 'job_id',
        });
      }
      const job = new Job(
        spec.job_id,
        request,
        Math.min(spec.timeout_ms ?? config.JOB_TIMEOUT_MS, config.JOB_TIMEOUT_MS),
      );
      const batcher = batchers.get(model.id) as StepBatcher;
      batcher.submit(job);
      jobs.set(job.id, job);
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
      }
    },
  );

  app.delete('/v1/jobs/:id', async (c) => {
    await verify(new Uint8Array(await c.req.arrayBuffer()), c.req.raw.headers);
    const job = jobs.get(c.req.param('id'));
    if (!job)
      throw new ServiceError(404, 'not_found', `no job ${c.req.param('id')} is queued or running here`);
    job.cancel();
    return c.json({ id: job.id, state: 'cancelled' });
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

// POST /v1/images: the native generation API. Synchronous by default (the answer waits for the
// images, bounded by the gpu-worker timeout and one retry); with `Prefer: respond-async`
// (RFC 7240) or a `webhook` → 202 and a job URL, and the job runs through the JOBS queue. A
// request whose images are all in the result cache is answered at once either way, without any
// gpu-worker (and without a webhook call: the answer is the outcome).
import { GenerationRequest } from '@latent-edge/shared/protocol/generation-request';
import { LIMITS } from '@latent-edge/shared/protocol/limits';
import { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../env.ts';
import { imagesResponse } from '../generation/images-response.ts';
import { accountedGeneration, admitJob, releaseJob } from '../generation/job-accounting.ts';
import { prepareGeneration } from '../generation/prepare-generation.ts';
import { keyShare } from '../generation/queue-dispatch.ts';
import { cachedImageKeys } from '../generation/run-generation.ts';
import { ApiError } from '../http/api-error.ts';
import { baseUrl } from '../http/base-url.ts';
import { readJson } from '../http/read-json.ts';
import { storeJobInputs } from '../jobs/job-inputs.ts';
import { type JobRecord, jobView, queuedRecord } from '../jobs/job-record.ts';
import { checkWebhookTarget } from '../webhooks/webhook-target.ts';

export const images = new Hono<AppEnv>();

/**
 * The shared request plus the native API's own extras for asynchronous jobs: a webhook told when
 * the job ends (and, with `webhook_events` including "progress", while it runs), and preview
 * frames on the job's event stream every `preview_every` steps (0 = none).
 */
export const ImagesRequest = GenerationRequest.extend({
  webhook: z.string().max(2048).optional(),
  webhook_events: z
    .array(z.enum(['completed', 'progress']))
    .min(1)
    .max(2)
    .default(['completed'])
    .refine((events) => events.includes('completed'), {
      error: 'must include "completed": every webhook is told how its job ended',
    }),
  preview_every: z.int().min(0).max(LIMITS.maxSteps).default(0),
});

function prefersAsync(prefer: string | undefined): boolean {
  return (prefer ?? '')
    .split(',')
    .some((preference) => preference.split(';')[0].trim().toLowerCase() === 'respond-async');
}

images.post('/', async (c) => {
  const config = c.var.config;
  const {
    webhook,
    webhook_events: webhookEvents,
    preview_every: previewEvery,
    ...request
  } = await readJson(c, ImagesRequest, config.MAX_BODY_BYTES);
  if (webhook !== undefined && !config.WEBHOOK_SECRET) {
    throw new ApiError(400, 'invalid_request', 'webhook: webhooks are not enabled on this server', {
      field: 'webhook',
    });
  }
  const webhookUrl =
    webhook === undefined ? undefined : checkWebhookTarget(webhook, config.ALLOW_LOCAL_WEBHOOKS);
  const prepared = await prepareGeneration(config, request);
  const { generation } = prepared;
  const jobId = crypto.randomUUID();
  const waitUntil = (p: Promise<unknown>) => c.executionCtx.waitUntil(p);

  // A webhook only makes sense for a job that outlives the request.
  if (webhookUrl || prefersAsync(c.req.header('Prefer'))) {
    const cached = await cachedImageKeys(c.env.IMAGES, generation);
    if (cached.size < generation.images.length) {
      // Admitted under the key's quota here; the queue consumer records or releases the job.
      await admitJob(c.env, c.var.apiKey, jobId, generation.images.length, waitUntil);
      const record: JobRecord = {
        ...queuedRecord(jobId, c.var.apiKey.id, baseUrl(c)),
        ...(webhookUrl
          ? { webhook: { url: webhookUrl, attempts: 0, progress: webhookEvents.includes('progress') } }
          : {}),
      };
      try {
        await storeJobInputs(c.env.IMAGES, prepared);
        await c.env.JOB_STATE.getByName(jobId).create(record);
        await c.env.JOBS.send(
          {
            type: 'generate',
            job_id: jobId,
            generation,
            preview_every: previewEvery,
            max_in_flight: c.var.apiKey.max_in_flight,
          },
          { contentType: 'json' },
        );
      } catch (error) {
        await releaseJob(c.env, c.var.apiKey.id, jobId, waitUntil);
        throw error;
      }
      const view = jobView(record);
      c.header('Preference-Applied', 'respond-async');
      c.header('Location', view.url);
      return c.json(view, 202);
    }
  }

  const outcome = await accountedGeneration({ env: c.env, config, waitUntil }, c.var.apiKey, prepared, {
    jobId,
    share: keyShare(c.var.apiKey, config.MAX_IN_FLIGHT_PER_KEY),
  });
  c.header('X-Cache', outcome.cache);
  return c.json(imagesResponse(outcome, baseUrl(c)));
});

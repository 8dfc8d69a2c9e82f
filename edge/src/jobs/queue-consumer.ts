// The JOBS queue's consumer (this same Worker): runs asynchronous generations and delivers their
// webhooks. A generation that finds every gpu-worker busy or down goes back to the queue with
// a growing delay; any other failure, or the last retry, fails the job. The outcome is recorded
// in the job's JobState before the message is acknowledged.

import { DISPATCH_DEAD_LETTER_QUEUE, DispatchMessage } from '@latent-edge/shared/protocol/dispatch';
import { guardBindings } from '../bindings/guarded-bindings.ts';
import { comfyRelay } from '../comfy/comfy-relay.ts';
import { edgeConfig } from '../config/edge-config.ts';
import { runDiscordJob } from '../discord/run-discord-job.ts';
import { imagesResponse } from '../generation/images-response.ts';
import { recordJob, releaseJob } from '../generation/job-accounting.ts';
import { keyShare } from '../generation/queue-dispatch.ts';
import { runGeneration } from '../generation/run-generation.ts';
import { toApiError } from '../http/api-error.ts';
import { deliverWebhook } from '../webhooks/deliver-webhook.ts';
import { loadJobInputs } from './job-inputs.ts';
import type { JobRecord } from './job-record.ts';
import { progressRelay } from './progress-relay.ts';
import type { GenerateMessage, QueueMessage } from './queue-message.ts';

/** Retries of a generation while no gpu-worker can take it (wrangler.toml max_retries is 5). */
const MAX_GENERATE_ATTEMPTS = 5;
/** Webhook deliveries before giving up (the job keeps the last error). */
const MAX_WEBHOOK_ATTEMPTS = 5;
/** Seconds before retry n: 10, 20, 40, 80, capped at 5 minutes. */
export const backoffSeconds = (attempt: number) => Math.min(300, 10 * 2 ** (attempt - 1));

async function runGenerateMessage(
  message: Message<QueueMessage>,
  body: GenerateMessage,
  env: Env,
  ctx: ExecutionContext,
): Promise<void> {
  const job = env.JOB_STATE.getByName(body.job_id);
  const record = await job.start();
  const waitUntil = (p: Promise<unknown>) => ctx.waitUntil(p);
  if (!record) {
    // Cancelled before it ran: its admission holds nothing any more.
    const owner = (await job.get())?.owner;
    if (owner) await releaseJob(env, owner, body.job_id, waitUntil);
    // Cancelled (POST /interrupt) before it ran: a ComfyUI run still ends in its history.
    if (body.comfy) await comfyRelay(env, body.comfy.owner, body.job_id).finished(await job.get());
    return message.ack();
  }
  const { generation } = body;
  const config = edgeConfig(env);
  const relay = progressRelay(job, config, record, (p) => ctx.waitUntil(p));
  const comfy = body.comfy ? comfyRelay(env, body.comfy.owner, body.job_id) : undefined;
  await comfy?.started();
  let final: JobRecord | null;
  try {
    const inputs = await loadJobInputs(env.IMAGES, generation);
    const outcome = await runGeneration(
      { env, config, waitUntil: (p) => ctx.waitUntil(p) },
      { generation, ...inputs },
      {
        jobId: body.job_id,
        onAttempt: (worker) => job.setWorker(worker),
        onProgress: comfy
          ? (event) => {
              relay.listener(event);
              comfy.listener(event);
            }
          : relay.listener,
        previewEvery: body.preview_every,
        // Nobody holds a connection open for it: the GPU queues' batch tier (scale-out mode).
        tier: 'batch',
        share: keyShare(
          { id: record.owner, max_in_flight: body.max_in_flight },
          config.MAX_IN_FLIGHT_PER_KEY,
        ),
      },
    );
    await relay.settled();
    // Recorded before the message is acknowledged: a redelivery records the same job id, once.
    await recordJob(env, record.owner, outcome, waitUntil);
    final = await job.finish({ result: imagesResponse(outcome, record.base_url) });
  } catch (error) {
    await relay.settled();
    const failure = toApiError(error);
    if (failure.status >= 500) console.error(`job ${body.job_id}:`, error);
    const retryable = failure.status === 503 || failure.status === 504;
    const error_ = { code: failure.code, message: failure.message };
    if (retryable && message.attempts < MAX_GENERATE_ATTEMPTS) {
      await job.requeue(error_);
      return message.retry({ delaySeconds: backoffSeconds(message.attempts) });
    }
    await releaseJob(env, record.owner, body.job_id, waitUntil);
    final = await job.finish({ error: error_ });
  }
  await comfy?.finished(final);
  // A job cancelled meanwhile had its webhook sent by the cancel.
  if (record.webhook && final?.status !== 'cancelled')
    await env.JOBS.send({ type: 'webhook', job_id: body.job_id }, { contentType: 'json' });
  message.ack();
}

/** A GPU queue's dead letters (scale-out): each job is failed with the reason, once. */
async function handleDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const message of batch.messages) {
    const body = DispatchMessage.safeParse(message.body);
    if (body.success) await env.JOB_STATE.getByName(body.data.job_id).deadLetter();
    message.ack();
  }
}

export async function handleQueue(
  batch: MessageBatch<QueueMessage>,
  rawEnv: Env,
  ctx: ExecutionContext,
): Promise<void> {
  // A storage blip becomes a 503, which the consumer retries like a busy fleet.
  const env = guardBindings(rawEnv);
  if (batch.queue === DISPATCH_DEAD_LETTER_QUEUE) return handleDeadLetters(batch, env);
  for (const message of batch.messages) {
    const body = message.body;
    if (body.type === 'generate') {
      await runGenerateMessage(message, body, env, ctx);
    } else if (body.type === 'webhook') {
      const result = await deliverWebhook(env, edgeConfig(env), body.job_id);
      if (result.delivered || result.final || message.attempts >= MAX_WEBHOOK_ATTEMPTS) message.ack();
      else message.retry({ delaySeconds: backoffSeconds(message.attempts) });
    } else if (body.type === 'discord') {
      await runDiscordJob(message, body, env, ctx);
    } else {
      // A message of a type this version does not know (e.g. from a newer deploy): drop it.
      message.ack();
    }
  }
}

// Delivers a job's webhook: the job as GET /v1/jobs/:id shows it, signed, POSTed to the job's URL
// with a 10 s timeout and no redirects. The outcome: a 2xx is delivered; anything else is retried
// by the queue with backoff, and the attempts are recorded on the job. Progress (for webhooks that
// asked for it): the same body while running, sent once, never retried or recorded, since the
// next one supersedes it.
import type { EdgeConfig } from '../config/edge-config.ts';
import { type JobRecord, jobView } from '../jobs/job-record.ts';
import { signWebhook, webhookSecret } from './webhook-signature.ts';

const TIMEOUT_MS = 10_000;

export type DeliveryResult = { delivered: true } | { delivered: false; reason: string; final: boolean };

/** POSTs the job's view, signed for its owner, under `messageId` (the same on every retry). */
async function post(config: EdgeConfig, record: JobRecord, messageId: string): Promise<string | undefined> {
  if (!record.webhook || !config.WEBHOOK_SECRET) return 'the job has no webhook';
  const body = JSON.stringify(jobView(record));
  const secret = await webhookSecret(config.WEBHOOK_SECRET, record.owner);
  const headers = await signWebhook(secret, messageId, Math.floor(Date.now() / 1000), body);
  try {
    const response = await fetch(record.webhook.url, {
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'application/json', 'User-Agent': 'latent-edge-webhook' },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    await response.body?.cancel();
    return response.ok ? undefined : `answered ${response.status}`;
  } catch (error) {
    console.error(`webhook for job ${record.id}:`, error);
    return deliveryFailure(error);
  }
}

/**
 * What the webhook's owner is told of a fetch that threw: whether it timed out, nothing more.
 * The network's own text (refused, reset, a name that does not resolve, an address) would let an
 * owner scan hosts and ports behind the edge one webhook at a time; it goes to the logs.
 */
export function deliveryFailure(error: unknown): string {
  return error instanceof Error && error.name === 'TimeoutError'
    ? `no answer within ${TIMEOUT_MS / 1000} s`
    : 'the connection failed';
}

export async function deliverWebhook(env: Env, config: EdgeConfig, jobId: string): Promise<DeliveryResult> {
  const state = env.JOB_STATE.getByName(jobId);
  const record = await state.get();
  if (!record?.webhook || !config.WEBHOOK_SECRET) {
    return { delivered: false, reason: 'the job or its webhook is gone', final: true };
  }
  // Receivers can drop duplicates by the message id.
  const reason = await post(config, record, `${jobId}.${record.status}`);
  if (reason === undefined) {
    await state.recordWebhook({ delivered: true });
    return { delivered: true };
  }
  await state.recordWebhook({ delivered: false, error: reason });
  return { delivered: false, reason, final: false };
}

/** A running job's progress to a webhook that asked for it; true when the receiver took it. */
export async function deliverProgressWebhook(config: EdgeConfig, record: JobRecord): Promise<boolean> {
  if (!record.webhook?.progress || !record.progress) return false;
  const step = record.progress.queue_position === null ? `step-${record.progress.step}` : 'queued';
  return (await post(config, record, `${record.id}.progress.${step}`)) === undefined;
}

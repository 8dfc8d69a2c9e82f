// Delivers a finished job's webhook: the job as GET /v1/jobs/:id shows it, signed, POSTed to the
// job's URL with a 10 s timeout and no redirects. A 2xx is delivered; anything else is retried
// by the queue with backoff, and the attempts are recorded on the job.
import type { EdgeConfig } from '../config/edge-config.ts';
import { jobView } from '../jobs/job-record.ts';
import { signWebhook, webhookSecret } from './webhook-signature.ts';

const TIMEOUT_MS = 10_000;

export type DeliveryResult = { delivered: true } | { delivered: false; reason: string; final: boolean };

export async function deliverWebhook(env: Env, config: EdgeConfig, jobId: string): Promise<DeliveryResult> {
  const state = env.JOB_STATE.getByName(jobId);
  const record = await state.get();
  if (!record?.webhook || !config.WEBHOOK_SECRET) {
    return { delivered: false, reason: 'the job or its webhook is gone', final: true };
  }
  const body = JSON.stringify(jobView(record));
  const secret = await webhookSecret(config.WEBHOOK_SECRET, record.owner);
  // The message id stays the same on every retry, so receivers can drop duplicates.
  const headers = await signWebhook(secret, `${jobId}.${record.status}`, Math.floor(Date.now() / 1000), body);
  let reason: string;
  try {
    const response = await fetch(record.webhook.url, {
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'application/json', 'User-Agent': 'latent-edge-webhook' },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    await response.body?.cancel();
    if (response.ok) {
      await state.recordWebhook({ delivered: true });
      return { delivered: true };
    }
    reason = `answered ${response.status}`;
  } catch (error) {
    reason = error instanceof Error ? error.message : String(error);
  }
  await state.recordWebhook({ delivered: false, error: reason });
  return { delivered: false, reason, final: false };
}

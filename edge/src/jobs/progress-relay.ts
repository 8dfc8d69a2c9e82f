// Carries a running job's gpu-worker events to where clients see them: its JobState (which keeps
// the latest progress for polling and streams every event), in order; and its webhook, when that
// asked for progress, at most once per interval and never holding up the job.
import type { GpuJobEvent } from '@latent-edge/shared/protocol/job-events';
import type { EdgeConfig } from '../config/edge-config.ts';
import type { JobState } from '../durable-objects/job-state.ts';
import { deliverProgressWebhook } from '../webhooks/deliver-webhook.ts';
import { isRelayed, type JobRecord, progressOf } from './job-record.ts';

/** The least time between two progress calls to one webhook. */
export const PROGRESS_WEBHOOK_INTERVAL_MS = 1000;

export function progressRelay(
  state: DurableObjectStub<JobState>,
  config: EdgeConfig,
  record: JobRecord,
  waitUntil: (promise: Promise<unknown>) => void,
) {
  let chain: Promise<unknown> = Promise.resolve();
  let lastWebhookAt = Number.NEGATIVE_INFINITY;
  const listener = (event: GpuJobEvent): void => {
    if (!isRelayed(event)) return;
    // One at a time, so the record and the streams see the events in the worker's order.
    chain = chain.then(() => state.progress(event)).catch(() => undefined);
    const now = Date.now();
    if (
      record.webhook?.progress &&
      event.type === 'progress' &&
      now - lastWebhookAt >= PROGRESS_WEBHOOK_INTERVAL_MS
    ) {
      lastWebhookAt = now;
      const running: JobRecord = { ...record, status: 'running', progress: progressOf(event) };
      waitUntil(deliverProgressWebhook(config, running).catch(() => false));
    }
  };
  /** Resolves once every event so far is recorded, so the outcome is always the last event. */
  const settled = () => chain;
  return { listener, settled };
}

// A synchronous AUTOMATIC1111 generation, followed the way the A1111 web UI follows its one job:
// it gets a JobState record owned by the key (the same record and live previews as an
// asynchronous job), and the key's A1111Session points at it while the request waits, so GET
// /sdapi/v1/progress can report it and POST /sdapi/v1/interrupt can cancel it.

import type { Context } from 'hono';
import type { A1111Job } from '../durable-objects/a1111-session.ts';
import type { AppEnv } from '../env.ts';
import { imagesResponse } from '../generation/images-response.ts';
import { accountedGeneration } from '../generation/job-accounting.ts';
import type { Prepared } from '../generation/prepare-generation.ts';
import { keyShare } from '../generation/queue-dispatch.ts';
import type { GenerationOutcome } from '../generation/run-generation.ts';
import { toApiError } from '../http/api-error.ts';
import { baseUrl } from '../http/base-url.ts';
import { queuedRecord } from '../jobs/job-record.ts';
import { progressRelay } from '../jobs/progress-relay.ts';

/** A preview every this many steps: about 8 a job, like A1111's live previews. */
export function a1111PreviewEvery(steps: number): number {
  return Math.max(1, Math.round(steps / 8));
}

/** A1111's job_timestamp: yyyymmddhhmmss, UTC. */
export function jobTimestamp(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

export async function runA1111Generation(
  c: Context<AppEnv>,
  prepared: Prepared,
  kind: A1111Job['kind'],
): Promise<GenerationOutcome> {
  const config = c.var.config;
  const jobId = crypto.randomUUID();
  const waitUntil = (p: Promise<unknown>) => c.executionCtx.waitUntil(p);
  const now = new Date();
  const record = queuedRecord(jobId, c.var.apiKey.id, baseUrl(c), now);
  const state = c.env.JOB_STATE.getByName(jobId);
  const session = c.env.A1111_SESSION.getByName(c.var.apiKey.id);
  await state.create(record);
  const running = (await state.start()) ?? record;
  await session.begin({ id: jobId, kind, started_at: now.getTime(), timestamp: jobTimestamp(now) });
  const relay = progressRelay(state, config, running, waitUntil);
  try {
    const outcome = await accountedGeneration({ env: c.env, config, waitUntil }, c.var.apiKey, prepared, {
      jobId,
      onAttempt: (worker) => state.setWorker(worker),
      onProgress: relay.listener,
      previewEvery: a1111PreviewEvery(prepared.generation.steps),
      share: keyShare(c.var.apiKey, config.MAX_IN_FLIGHT_PER_KEY),
    });
    await relay.settled();
    if (outcome.interruptedAtStep === undefined) {
      await state.finish({ result: imagesResponse(outcome, record.base_url) });
    } else {
      // Its images went back to the request only (they are not stored: not the request's result).
      const message = `interrupted after ${outcome.interruptedAtStep} of ${prepared.generation.steps} steps`;
      await state.finish({ error: { code: 'interrupted', message } });
    }
    return outcome;
  } catch (error) {
    await relay.settled();
    const failure = toApiError(error);
    await state.finish({ error: { code: failure.code, message: failure.message } });
    throw error;
  } finally {
    await session.end(jobId);
  }
}

// Scale-out dispatch inside workerd: a generation in JOB_DISPATCH=queues mode parks its envelope
// in R2, opens its dispatch in the job's JobState and sends one small message; this test then
// plays the gpu-workers against the real signed /internal/gpu routes and the real JobState: the
// claim lease, a second claim refused while it lives, progress reaching the waiting request and
// carrying a cancel back, the first result stored and the later one dropped, redeliveries of an
// ended job skipped, retryable and final failures, and calls refused before their body is read.
// The queue binding is the one thing replaced: a capturing stand-in (the real binding and the
// Queues REST API are exercised end to end in test/e2e/scale-out.e2e.test.ts).
import { createExecutionContext, createMessageBatch, env, runInDurableObject, SELF } from 'cloudflare:test';
import { signRequest } from '@latent-edge/shared/crypto/request-signing';
import {
  CLAIM_EXPIRES_HEADER,
  CLAIM_TOKEN_HEADER,
  DISPATCH_DEAD_LETTER_QUEUE,
  DispatchMessage,
  dispatchBindingName,
  dispatchPath,
} from '@latent-edge/shared/protocol/dispatch';
import { decodeEnvelope, ENVELOPE_CONTENT_TYPE, encodeEnvelope } from '@latent-edge/shared/protocol/envelope';
import { GenerationRequest } from '@latent-edge/shared/protocol/generation-request';
import type { GpuResult } from '@latent-edge/shared/protocol/gpu-job';
import { describe, expect, it } from 'vitest';
import { edgeConfig } from '../src/config/edge-config.ts';
import type { JobState } from '../src/durable-objects/job-state.ts';
import { readImageParameters } from '../src/generation/image-objects.ts';
import { prepareGeneration } from '../src/generation/prepare-generation.ts';
import { envelopeKey } from '../src/generation/queue-dispatch.ts';
import { runGeneration } from '../src/generation/run-generation.ts';
import type { ApiError } from '../src/http/api-error.ts';
import type { DispatchRecord } from '../src/jobs/dispatch-record.ts';
import { handleQueue } from '../src/jobs/queue-consumer.ts';
import { ORIGIN, uniquePrompt } from './support/api.ts';

const BINDING = dispatchBindingName('tiny-sd', 'interactive');

/** Starts a generation in queues mode; resolves with its first message once it is sent. */
function startQueued(prompt: string, events: unknown[] = []) {
  const sent: { body: unknown; options: unknown }[] = [];
  let announce: (message: DispatchMessage) => void;
  const message = new Promise<DispatchMessage>((resolve) => (announce = resolve));
  const queue = {
    async send(body: unknown, options: unknown) {
      sent.push({ body, options });
      announce(DispatchMessage.parse(body));
    },
  };
  const queuedEnv = { ...env, [BINDING]: queue } as unknown as Env;
  const config = { ...edgeConfig(env), JOB_DISPATCH: 'queues' as const, GPU_TIMEOUT_MS: 20_000 };
  const outcome = prepareGeneration(config, GenerationRequest.parse({ prompt, seed: 7 })).then((prepared) =>
    runGeneration({ env: queuedEnv, config, waitUntil: () => {} }, prepared, {
      jobId: crypto.randomUUID(),
      onProgress: (event) => events.push(event),
    }),
  );
  outcome.catch(() => {});
  return { sent, message, outcome };
}

async function signedPost(path: string, body: Uint8Array | string, headers: Record<string, string> = {}) {
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  const signature = await signRequest(env.GPU_SHARED_SECRET, bytes);
  return SELF.fetch(`${ORIGIN}${path}`, {
    method: 'POST',
    headers: { ...signature, ...headers },
    body: bytes,
  });
}

const claim = (jobId: string, worker = 'gpu-a', attempts = 1) =>
  signedPost(
    dispatchPath(jobId, 'claim'),
    JSON.stringify({ job_id: jobId, worker, message_id: `m-${worker}`, attempts }),
    { 'Content-Type': 'application/json' },
  );

const progress = (jobId: string, token: string, events: unknown[]) =>
  signedPost(dispatchPath(jobId, 'progress'), JSON.stringify({ job_id: jobId, token, events }), {
    'Content-Type': 'application/json',
  });

const failure = (jobId: string, token: string, retryable: boolean) =>
  signedPost(
    dispatchPath(jobId, 'failure'),
    JSON.stringify({ job_id: jobId, token, code: 'busy', message: 'worker full', status: 503, retryable }),
    { 'Content-Type': 'application/json' },
  );

/** A result envelope as a worker makes it: the job's seeds, distinct bytes per attempt. */
function resultBody(jobId: string, seeds: number[], marker: number): Uint8Array {
  const parts: Record<string, Uint8Array> = {};
  const head: GpuResult = {
    job_id: jobId,
    model: 'tiny-sd',
    revision: 'r',
    images: seeds.map((seed, i) => {
      parts[`image${i}`] = new Uint8Array([137, 80, 78, 71, marker, i]);
      return { seed, part: `image${i}`, content_type: 'image/png', width: 64, height: 64 };
    }),
    timings_ms: { queued: 1, encode: 1, denoise: 1, decode: 1, image: 1, total: 4 },
    embeddings_cached: false,
    withheld: [],
  };
  return encodeEnvelope(head, parts);
}

const postResult = (jobId: string, token: string, body: Uint8Array) =>
  signedPost(dispatchPath(jobId, 'result'), body, {
    'Content-Type': ENVELOPE_CONTENT_TYPE,
    [CLAIM_TOKEN_HEADER]: token,
  });

const dispatchOf = (jobId: string) =>
  env.JOB_STATE.getByName(jobId).dispatch() as Promise<DispatchRecord | null>;

describe('scale-out dispatch', () => {
  it('claims with a lease, refuses a second claim, stores the first result and drops the next', async () => {
    const events: unknown[] = [];
    const run = startQueued(uniquePrompt('a lighthouse'), events);
    const message = await run.message;
    expect(run.sent[0].options).toEqual({ contentType: 'json' });
    expect(JSON.stringify(run.sent[0].body).length).toBeLessThan(400);
    expect(message.tier).toBe('interactive');

    const first = await claim(message.job_id, 'gpu-a');
    expect(first.status).toBe(200);
    const token = first.headers.get(CLAIM_TOKEN_HEADER) as string;
    expect(Number(first.headers.get(CLAIM_EXPIRES_HEADER))).toBeGreaterThan(Date.now());
    // The envelope is the job /v1/generate would take: this job, its seed.
    const { head } = decodeEnvelope(new Uint8Array(await first.arrayBuffer()));
    expect(head).toMatchObject({ job_id: message.job_id, model: 'tiny-sd', seeds: [7] });

    const second = await claim(message.job_id, 'gpu-b', 2);
    expect(second.status).toBe(409);
    expect(((await second.json()) as ApiError['options'] & { error: { code: string } }).error.code).toBe(
      'claimed',
    );
    expect(Number(second.headers.get('Retry-After'))).toBeGreaterThanOrEqual(1);

    const step = { type: 'progress', step: 3, steps: 20, elapsed_ms: 30, eta_ms: 170 };
    const renewed = await progress(message.job_id, token, [step]);
    expect(await renewed.json()).toMatchObject({ cancel: false });
    expect(events).toContainEqual(step);

    const stored = await postResult(message.job_id, token, resultBody(message.job_id, [7], 1));
    expect(await stored.json()).toEqual({ outcome: 'stored' });
    const outcome = await run.outcome;
    expect(outcome.cache).toBe('MISS');
    const object = await env.IMAGES.get(outcome.images[0].objectKey);
    expect(new Uint8Array(await (object as R2ObjectBody).arrayBuffer())).toEqual(
      new Uint8Array([137, 80, 78, 71, 1, 0]),
    );
    expect(readImageParameters(object as R2Object)?.seed).toBe(7);
    // The parked envelope goes once the result is in.
    await expect.poll(() => env.IMAGES.head(envelopeKey(message.job_id))).toBeNull();

    // A late result from the same attempt changes nothing; a redelivery of the message is skipped.
    const late = await postResult(message.job_id, token, resultBody(message.job_id, [7], 2));
    expect(await late.json()).toEqual({ outcome: 'duplicate' });
    const again = await env.IMAGES.get(outcome.images[0].objectKey);
    expect(new Uint8Array(await (again as R2ObjectBody).arrayBuffer())[4]).toBe(1);
    const redelivered = await claim(message.job_id, 'gpu-b', 3);
    expect(redelivered.status).toBe(410);
    expect(((await redelivered.json()) as { error: { code: string } }).error.code).toBe('finished');
    // The finished attempt is told to stop if it still posts progress.
    expect(await (await progress(message.job_id, token, [])).json()).toMatchObject({ cancel: true });
  });

  it('hands a lapsed lease to the next worker: the old holder loses it, its result may still win', async () => {
    const run = startQueued(uniquePrompt('a windmill'));
    const { job_id: jobId } = await run.message;
    const firstToken = (await claim(jobId, 'gpu-a')).headers.get(CLAIM_TOKEN_HEADER) as string;
    // The holder died (or stalled) past its lease.
    const stub = env.JOB_STATE.getByName(jobId);
    await runInDurableObject(stub, async (_instance: JobState, state) => {
      const record = (await state.storage.get<DispatchRecord>('dispatch')) as DispatchRecord;
      await state.storage.put('dispatch', {
        ...record,
        lease: { ...record.lease, expires_at: Date.now() - 1 },
      });
    });
    const next = await claim(jobId, 'gpu-b', 2);
    expect(next.status).toBe(200);
    expect((await next.arrayBuffer()).byteLength).toBeGreaterThan(0);
    expect((await progress(jobId, firstToken, [])).status).toBe(409);
    expect((await dispatchOf(jobId))?.claims).toBe(2);
    // The stalled one finishes first after all: the first result is the job's.
    const stored = await postResult(jobId, firstToken, resultBody(jobId, [7], 3));
    expect(await stored.json()).toEqual({ outcome: 'stored' });
    await run.outcome;
  });

  it('puts a retryable failure back for another claim, and ends the job on a final one', async () => {
    const run = startQueued(uniquePrompt('a harbour'));
    const { job_id: jobId } = await run.message;
    const token = (await claim(jobId)).headers.get(CLAIM_TOKEN_HEADER) as string;
    expect(await (await failure(jobId, token, true)).json()).toEqual({ outcome: 'recorded' });
    expect((await dispatchOf(jobId))?.status).toBe('queued');
    const retry = await claim(jobId, 'gpu-b', 2);
    expect(retry.status).toBe(200);
    await failure(jobId, retry.headers.get(CLAIM_TOKEN_HEADER) as string, false);
    const error = (await run.outcome.catch((e: unknown) => e)) as ApiError;
    expect(error.status).toBe(503);
    expect(error.message).toContain('worker full');
  });

  it('carries a cancel to the worker in its next progress answer, and skips a later redelivery', async () => {
    const run = startQueued(uniquePrompt('a glacier'));
    const { job_id: jobId } = await run.message;
    const token = (await claim(jobId)).headers.get(CLAIM_TOKEN_HEADER) as string;
    await env.JOB_STATE.getByName(jobId).cancelDispatch();
    expect(await (await progress(jobId, token, [])).json()).toMatchObject({ cancel: true });
    expect(((await run.outcome.catch((e: unknown) => e)) as ApiError).status).toBe(409);
    const redelivered = await claim(jobId, 'gpu-b', 2);
    expect(((await redelivered.json()) as { error: { code: string } }).error.code).toBe('cancelled');
  });

  it('refuses calls without a fresh signature before reading them, and a body for another job', async () => {
    const jobId = crypto.randomUUID();
    const unsigned = await SELF.fetch(`${ORIGIN}${dispatchPath(jobId, 'claim')}`, {
      method: 'POST',
      body: '{}',
    });
    expect(unsigned.status).toBe(401);
    const stale = await SELF.fetch(`${ORIGIN}${dispatchPath(jobId, 'claim')}`, {
      method: 'POST',
      headers: { ...(await signRequest(env.GPU_SHARED_SECRET, '{}', Date.now() - 3600_000)) },
      body: '{}',
    });
    expect(stale.status).toBe(401);
    const other = await signedPost(
      dispatchPath(jobId, 'claim'),
      JSON.stringify({ job_id: crypto.randomUUID(), worker: 'w', message_id: 'm', attempts: 1 }),
    );
    expect(other.status).toBe(400);
    const unknown = await claim(jobId);
    expect(unknown.status).toBe(410);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('unknown');
  });

  it('fails a job whose message was dead-lettered, with the reason, and acks the dead letter', async () => {
    const run = startQueued(uniquePrompt('a shipwreck'));
    const message = await run.message;
    const batch = createMessageBatch(DISPATCH_DEAD_LETTER_QUEUE, [
      { id: 'dead-1', timestamp: new Date(), attempts: 1, body: message },
    ]);
    const ctx = createExecutionContext();
    await handleQueue(batch as never, env, ctx);
    const error = (await run.outcome.catch((e: unknown) => e)) as ApiError;
    expect(error.status).toBe(503);
    expect(error.message).toContain('dead-lettered');
    expect((await dispatchOf(message.job_id))?.status).toBe('failed');
  });

  it('keeps GET /metrics off without METRICS_TOKEN', async () => {
    const response = await SELF.fetch(`${ORIGIN}/metrics`);
    expect(response.status).toBe(404);
  });
});

// Usage metering and quotas through the front door: jobs through the real Worker, its real
// KeyUsage objects and the fake gpu-worker (which reports 5 ms of work a job, none of it queued:
// edge/test/node/fake-gpu-worker.ts), read back with GET /v1/usage.
import { createExecutionContext, env, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { ApiKeyRecord } from '../src/auth/api-key.ts';
import worker from '../src/index.ts';
import type { KeyUsage } from '../src/usage/key-usage.ts';
import type { UsageView } from '../src/usage/usage-view.ts';
import {
  call,
  createApiKey,
  type ErrorBody,
  eventually,
  ORIGIN,
  postJson,
  uniquePrompt,
} from './support/api.ts';

/** The fake gpu-worker's timings of every job: total 5 ms, queued 0. */
const FAKE_WORKER_MS = 5;
const SIZE = { width: 64, height: 64, steps: 4 };
const STEP_PIXELS = SIZE.steps * SIZE.width * SIZE.height;

const newKey = (quota?: ApiKeyRecord['quota']) =>
  createApiKey({ rateLimit: { requests: 10_000, window_seconds: 60 }, quota });

async function usageOf(key: string): Promise<UsageView> {
  const response = await call('/v1/usage', { key });
  expect(response.status).toBe(200);
  return response.json();
}

const generate = (key: string, prompt: string, seed: number, headers: Record<string, string> = {}) =>
  postJson('/v1/images', { prompt, seed, ...SIZE }, key, headers);

/** `use` of a fresh instance of the key's object over the same storage, as after an eviction or a redeploy. */
function withRestartedUsage<T>(id: string, use: (usage: KeyUsage) => T) {
  return runInDurableObject(env.KEY_USAGE.getByName(id), (instance, state) => {
    const Restarted = instance.constructor as typeof KeyUsage;
    return use(new Restarted(state, env));
  });
}

/** Seconds from `now` to the next UTC midnight, as a client would work it out. */
function untilUtcMidnight(now: number): number {
  const d = new Date(now);
  return (Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1) - now) / 1000;
}

describe('usage metering', () => {
  it('counts 50 concurrent jobs exactly, and the same after a restart of its object, a retried record changing nothing', async () => {
    const { key, record } = await newKey();
    const prompt = uniquePrompt('a blue square');
    const answers = await Promise.all(Array.from({ length: 50 }, (_, seed) => generate(key, prompt, seed)));
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    const bodies = (await Promise.all(answers.map((a) => a.json()))) as { id: string }[];

    const expected = { jobs: 50, images: 50, cached_images: 0, step_pixels: 50 * STEP_PIXELS };
    const usage = await usageOf(key);
    expect(usage.today).toMatchObject(expected);
    expect(usage.this_month).toMatchObject(expected);
    expect(usage.total).toMatchObject(expected);
    expect(usage.today.worker_seconds).toBeCloseTo((50 * FAKE_WORKER_MS) / 1000, 9);
    expect(usage.reserved_images).toBe(0);

    // Restarted, the object reads the same, and recording any of those jobs again counts nothing.
    const replay = await withRestartedUsage(record.id, (restarted) => ({
      before: restarted.report().total,
      again: bodies.map((body) =>
        restarted.record(body.id, { images: 1, cachedImages: 0, stepPixels: STEP_PIXELS, workerMs: 5 }),
      ),
      after: restarted.report().total,
    }));
    expect(replay.before).toMatchObject(expected);
    expect(replay.again).toEqual(Array(50).fill(false));
    expect(replay.after).toEqual(replay.before);
    // 50 more, concurrently, land on the live object next to the restarted one's view: 100 in all.
    const more = await Promise.all(Array.from({ length: 50 }, (_, i) => generate(key, prompt, 100 + i)));
    expect(more.every((a) => a.status === 200)).toBe(true);
    await Promise.all(more.map((a) => a.arrayBuffer()));
    const total = await withRestartedUsage(record.id, (restarted) => restarted.report().total);
    expect(total).toMatchObject({ jobs: 100, images: 100 });
    expect((await usageOf(key)).today).toMatchObject({
      jobs: 100,
      images: 100,
      step_pixels: 100 * STEP_PIXELS,
    });
  });

  it('counts images answered from the result cache apart from those made', async () => {
    const { key } = await newKey();
    const prompt = uniquePrompt('a green star');
    const first = await generate(key, prompt, 7);
    expect(first.headers.get('X-Cache')).toBe('MISS');
    await first.arrayBuffer();
    const second = await generate(key, prompt, 7);
    expect(second.headers.get('X-Cache')).toBe('HIT');
    await second.arrayBuffer();
    const usage = await usageOf(key);
    expect(usage.today).toMatchObject({ jobs: 2, images: 1, cached_images: 1, step_pixels: STEP_PIXELS });
  });

  it('records an asynchronous job once, when the queue consumer finishes it', async () => {
    const { key } = await newKey();
    const accepted = await generate(key, uniquePrompt('a red circle'), 3, { Prefer: 'respond-async' });
    expect(accepted.status).toBe(202);
    const { url } = (await accepted.json()) as { url: string };
    await eventually(async () => {
      const job = (await (await call(new URL(url).pathname, { key })).json()) as { status: string };
      return job.status === 'succeeded' ? job : undefined;
    });
    expect((await usageOf(key)).today).toMatchObject({ jobs: 1, images: 1, step_pixels: STEP_PIXELS });
  });
});

describe('quotas', () => {
  it('lets exactly the quota of 50 concurrent jobs through and refuses the rest with Retry-After at UTC midnight', async () => {
    const { key } = await newKey({ images_per_day: 3 });
    const prompt = uniquePrompt('a yellow triangle');
    const answers = await Promise.all(Array.from({ length: 50 }, (_, seed) => generate(key, prompt, seed)));
    const now = Date.now();
    expect(answers.filter((a) => a.status === 200)).toHaveLength(3);
    const refused = answers.filter((a) => a.status === 429);
    expect(refused).toHaveLength(47);
    for (const answer of refused) {
      const retryAfter = Number(answer.headers.get('Retry-After'));
      expect(Math.abs(retryAfter - untilUtcMidnight(now))).toBeLessThanOrEqual(5);
      expect(((await answer.json()) as ErrorBody).error.code).toBe('quota_exceeded');
    }
    await Promise.all(answers.filter((a) => a.status === 200).map((a) => a.arrayBuffer()));
    const usage = await usageOf(key);
    expect(usage.today.images).toBe(3);
    expect(usage.remaining.images_today).toBe(0);
    expect(usage.quota).toEqual({ images_per_day: 3, worker_seconds_per_month: null });
  });

  it('gives a failed job its reserved images back', async () => {
    const { key } = await newKey({ images_per_day: 1 });
    const prompt = uniquePrompt('a purple hexagon');
    // Every gpu-worker full: the job fails with 503 after its admission.
    const ctx = createExecutionContext();
    const failed = await worker.fetch(
      new Request(`${ORIGIN}/v1/images`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ prompt, seed: 1, ...SIZE }),
      }),
      { ...env, GPU_WORKERS: 'http://down-a.gpu.test' },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(failed.status).toBe(503);
    await failed.arrayBuffer();
    expect((await usageOf(key)).reserved_images).toBe(0);
    const ok = await generate(key, prompt, 1);
    expect(ok.status).toBe(200);
    await ok.arrayBuffer();
    expect((await generate(key, prompt, 2)).status).toBe(429);
  });

  it('refuses a key past its worker seconds this month, until the month ends', async () => {
    const { key } = await newKey({ worker_seconds_per_month: 0 });
    const refused = await generate(key, uniquePrompt('an orange ring'), 1);
    expect(refused.status).toBe(429);
    const now = new Date();
    const monthEnd = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
    const retryAfter = Number(refused.headers.get('Retry-After'));
    expect(Math.abs(retryAfter - (monthEnd - now.getTime()) / 1000)).toBeLessThanOrEqual(5);
    const body = (await refused.json()) as ErrorBody;
    expect(body.error).toMatchObject({ code: 'quota_exceeded' });
    expect(body.error.message).toContain('gpu-worker seconds per UTC month');
  });
});

describe('operator usage route', () => {
  const OPERATOR_TOKEN = 'test-operator-token-0123456789abcdefghij';
  const operatorGet = async (path: string, token?: string) => {
    const ctx = createExecutionContext();
    const response = await worker.fetch(
      new Request(`${ORIGIN}${path}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} }),
      { ...env, OPERATOR_TOKEN },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    return response;
  };

  it("answers any key's usage and quota to the operator token only", async () => {
    const { key, record } = await newKey({ images_per_day: 10 });
    const made = await generate(key, uniquePrompt('a black cube'), 1);
    expect(made.status).toBe(200);
    await made.arrayBuffer();

    const answer = await operatorGet(`/v1/operator/keys/${record.id}/usage`, OPERATOR_TOKEN);
    expect(answer.status).toBe(200);
    const view = (await answer.json()) as UsageView;
    expect(view).toMatchObject({
      key: record.id,
      quota: { images_per_day: 10 },
      remaining: { images_today: 9 },
    });
    expect(view.today).toEqual((await usageOf(key)).today);

    expect((await operatorGet(`/v1/operator/keys/${record.id}/usage`, 'wrong-token')).status).toBe(401);
    // An API key is not an operator token.
    expect((await operatorGet(`/v1/operator/keys/${record.id}/usage`, key)).status).toBe(401);
    expect((await operatorGet('/v1/operator/keys/000000000000/usage', OPERATOR_TOKEN)).status).toBe(404);
    const bad = await operatorGet('/v1/operator/keys/nope/usage', OPERATOR_TOKEN);
    expect(bad.status).toBe(400);
  });
});

// Asynchronous jobs: `Prefer: respond-async` → 202 and a job URL; the job runs through the real
// local Queue and its state lives in a JobState Durable Object.
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  createApiKey,
  type ErrorBody,
  gpuCalls,
  gpuCancels,
  postJson,
  uniquePrompt,
} from './support/api.ts';

interface JobBody {
  id: string;
  status: string;
  url: string;
  attempts: number;
  result?: { images: { url: string; seed: number; cached: boolean }[]; seeds: number[] };
  error?: { code: string; message: string };
}

let key: string;
let owner: string;
beforeAll(async () => {
  const created = await createApiKey({ rateLimit: { requests: 1000, window_seconds: 60 } });
  key = created.key;
  owner = created.record.id;
});

async function waitForJob(url: string, done: (job: JobBody) => boolean): Promise<JobBody> {
  for (let i = 0; i < 100; i++) {
    const job = (await (await call(new URL(url).pathname, { key })).json()) as JobBody;
    if (done(job)) return job;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`job ${url} did not finish`);
}

const ASYNC = { Prefer: 'respond-async' };

describe('asynchronous jobs', () => {
  it('answers 202 with a job URL and runs the job through the queue', async () => {
    const prompt = uniquePrompt('a quiet harbour');
    const response = await postJson('/v1/images', { prompt, seed: 21, n: 2 }, key, ASYNC);
    expect(response.status).toBe(202);
    expect(response.headers.get('Preference-Applied')).toBe('respond-async');
    const accepted = (await response.json()) as JobBody;
    expect(accepted.status).toBe('queued');
    expect(response.headers.get('Location')).toBe(accepted.url);
    expect(accepted.url).toBe(`https://edge.test/v1/jobs/${accepted.id}`);

    const job = await waitForJob(accepted.url, (j) => j.status === 'succeeded' || j.status === 'failed');
    expect(job.status).toBe('succeeded');
    expect(job.attempts).toBe(1);
    expect(job.result?.seeds).toEqual([21, 22]);
    const calls = await gpuCalls(prompt);
    expect(calls).toHaveLength(1);
    expect(calls[0].job_id).toBe(accepted.id);
    const image = await call(new URL(job.result?.images[0].url ?? '').pathname);
    expect(image.status).toBe(200);
    expect(image.headers.get('Content-Type')).toBe('image/png');
  });

  it('answers at once, without a job, when every image is already cached', async () => {
    const prompt = uniquePrompt('a cached harbour');
    expect((await postJson('/v1/images', { prompt, seed: 4 }, key)).status).toBe(200);
    const response = await postJson('/v1/images', { prompt, seed: 4 }, key, ASYNC);
    expect(response.status).toBe(200);
    expect(response.headers.get('X-Cache')).toBe('HIT');
    expect(response.headers.get('Preference-Applied')).toBeNull();
    expect(await gpuCalls(prompt)).toHaveLength(1);
  });

  it('validates before accepting: a bad request is a 400, not a failed job', async () => {
    const response = await postJson('/v1/images', { prompt: 'x', width: 33 }, key, ASYNC);
    expect(response.status).toBe(400);
    expect(((await response.json()) as ErrorBody).error.field).toBe('width');
  });

  it('hides a job from other API keys', async () => {
    const response = await postJson('/v1/images', { prompt: uniquePrompt('private'), seed: 1 }, key, ASYNC);
    const { url } = (await response.json()) as JobBody;
    const stranger = await createApiKey();
    const seen = await call(new URL(url).pathname, { key: stranger.key });
    expect(seen.status).toBe(404);
    expect(((await seen.json()) as ErrorBody).error.code).toBe('not_found');
    expect((await call(new URL(url).pathname, { key: stranger.key, method: 'DELETE' })).status).toBe(404);
  });

  it('answers 404 for a job id that does not exist or is not a job id', async () => {
    expect((await call(`/v1/jobs/${crypto.randomUUID()}`, { key })).status).toBe(404);
    expect((await call('/v1/jobs/not-a-job', { key })).status).toBe(404);
  });

  it('cancels a running job and forwards the cancel to its gpu-worker', async () => {
    const id = crypto.randomUUID();
    const now = new Date().toISOString();
    const state = env.JOB_STATE.getByName(id);
    await state.create({
      id,
      owner,
      status: 'queued',
      created_at: now,
      updated_at: now,
      attempts: 0,
      base_url: 'https://edge.test',
    });
    await state.start();
    await state.setWorker('http://gpu-a.gpu.test');

    const response = await call(`/v1/jobs/${id}`, { key, method: 'DELETE' });
    expect(response.status).toBe(200);
    expect(((await response.json()) as JobBody).status).toBe('cancelled');
    for (let i = 0; i < 50 && (await gpuCancels(id)).length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await gpuCancels(id)).toEqual([{ host: 'gpu-a.gpu.test', job_id: id }]);
    // A cancelled job stays cancelled even if its result arrives afterwards.
    await state.finish({ error: { code: 'late', message: 'late' } });
    expect((await state.get())?.status).toBe('cancelled');
  });

  it('refuses to cancel a job that already succeeded (409)', async () => {
    const response = await postJson('/v1/images', { prompt: uniquePrompt('done soon'), seed: 2 }, key, ASYNC);
    const { url } = (await response.json()) as JobBody;
    await waitForJob(url, (j) => j.status === 'succeeded');
    const cancel = await call(new URL(url).pathname, { key, method: 'DELETE' });
    expect(cancel.status).toBe(409);
    expect(((await cancel.json()) as ErrorBody).error.code).toBe('job_finished');
  });
});

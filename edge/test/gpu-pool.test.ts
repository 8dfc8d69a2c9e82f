// Choosing gpu-workers: one retry on another worker with the same job id, passive health, 503
// with Retry-After when none can take the job, 504 and a forwarded cancel on timeouts. Each test
// calls the Worker's fetch handler with its own GPU_WORKERS (hosts whose names set the fake's
// behaviour; see test/node/fake-gpu-worker.ts).
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import worker from '../src/index.ts';
import { createApiKey, type ErrorBody, gpuCalls, gpuCancels, ORIGIN, uniquePrompt } from './support/api.ts';

let key: string;
beforeAll(async () => {
  key = (await createApiKey({ rateLimit: { requests: 1000, window_seconds: 60 } })).key;
});

async function generateWith(workers: string, prompt: string, extraEnv: Partial<Env> = {}) {
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    new Request(`${ORIGIN}/v1/images`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` },
      body: JSON.stringify({ prompt, seed: 11 }),
    }),
    { ...env, GPU_WORKERS: workers, ...extraEnv },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return response;
}

describe('gpu-worker choice', () => {
  it('retries once on another worker with the same job id, and answers 503 with Retry-After when both are busy', async () => {
    const prompt = uniquePrompt('busy');
    const response = await generateWith(
      'http://down-a.gpu.test,http://down-b.gpu.test,http://down-c.gpu.test',
      prompt,
    );
    expect(response.status).toBe(503);
    expect(response.headers.get('Retry-After')).toBe('2');
    const body = (await response.json()) as ErrorBody;
    expect(body.error.code).toBe('gpu_unavailable');
    const calls = await gpuCalls(prompt);
    expect(calls).toHaveLength(2);
    expect(new Set(calls.map((c) => c.host)).size).toBe(2);
    expect(calls[0].job_id).toBe(calls[1].job_id);
  });

  it('succeeds on the second worker when the first fails, and tries the failed one last afterwards', async () => {
    const workers = 'http://down-d.gpu.test,http://ok-d.gpu.test';
    const prompt = uniquePrompt('flaky');
    const first = await generateWith(workers, prompt);
    expect(first.status).toBe(200);
    const calls = await gpuCalls(prompt);
    // Healthy workers are tried in random order: the failing one first, or not at all.
    expect(calls.at(-1)?.host).toBe('ok-d.gpu.test');
    expect(new Set(calls.map((c) => c.job_id)).size).toBe(1);

    // Healthy workers are tried in random order, so send requests until down-d has been tried
    // and failed (each request tries it first with probability ½; 20 misses in a row: 1 in 10⁶).
    let triedDown = calls.some((c) => c.host === 'down-d.gpu.test');
    for (let i = 0; i < 20 && !triedDown; i++) {
      const next = uniquePrompt(`flaky again ${i}`);
      expect((await generateWith(workers, next)).status).toBe(200);
      triedDown = (await gpuCalls(next)).some((c) => c.host === 'down-d.gpu.test');
    }
    expect(triedDown).toBe(true);
    // From then on it is tried last, so the healthy one answers alone.
    const again = uniquePrompt('flaky once more');
    expect((await generateWith(workers, again)).status).toBe(200);
    expect((await gpuCalls(again)).map((c) => c.host)).toEqual(['ok-d.gpu.test']);
  });

  it('answers 504 when no worker answers in time, and cancels the job on each', async () => {
    const prompt = uniquePrompt('slow');
    const response = await generateWith('http://hang-a.gpu.test,http://hang-b.gpu.test', prompt, {
      GPU_TIMEOUT_MS: 1000,
    });
    expect(response.status).toBe(504);
    expect(((await response.json()) as ErrorBody).error.code).toBe('gpu_timeout');
    const calls = await gpuCalls(prompt);
    expect(calls).toHaveLength(2);
    const cancels = await gpuCancels(calls[0].job_id);
    expect(cancels.map((c) => c.host).sort()).toEqual(['hang-a.gpu.test', 'hang-b.gpu.test']);
  });

  it('answers 502 when a worker refuses the job as invalid, without retrying', async () => {
    const prompt = uniquePrompt('wrong secret');
    const response = await generateWith('http://gpu-x.gpu.test,http://gpu-y.gpu.test', prompt, {
      GPU_SHARED_SECRET: 'a-different-secret-that-is-long-enough-0123',
    });
    expect(response.status).toBe(502);
    const body = (await response.json()) as ErrorBody;
    expect(body.error.code).toBe('gpu_rejected');
    expect(body.error.message).toContain('signature rejected');
  });
});

describe('configuration', () => {
  it('answers 500 misconfigured naming the variable when a secret is missing', async () => {
    const ctx = createExecutionContext();
    const { CACHE_KEY_SECRET: _omitted, ...rest } = env;
    const response = await worker.fetch(new Request(`${ORIGIN}/v1/models`), rest as Env, ctx);
    expect(response.status).toBe(500);
    const body = (await response.json()) as ErrorBody;
    expect(body.error.code).toBe('misconfigured');
    expect(body.error.message).toContain('CACHE_KEY_SECRET');
  });

  it('refuses GPU_WORKERS with plain http to a host that is not loopback or a test name', async () => {
    for (const workers of [
      'http://gpu.example.com',
      'https://gpu-a.example.com,http://10.0.0.5:8788',
      'http://gpu.test.example.com',
      'http://gpu-worker:8788',
    ]) {
      const ctx = createExecutionContext();
      const response = await worker.fetch(
        new Request(`${ORIGIN}/v1/models`),
        { ...env, GPU_WORKERS: workers },
        ctx,
      );
      expect(response.status, workers).toBe(500);
      const body = (await response.json()) as ErrorBody;
      expect(body.error.code).toBe('misconfigured');
      expect(body.error.message).toContain('GPU_WORKERS');
      expect(body.error.message).toContain('https');
    }
  });

  it('accepts https anywhere and plain http to loopback and .test hosts', async () => {
    for (const workers of [
      'https://gpu.example.com',
      'http://127.0.0.1:8788,http://localhost:8788,http://[::1]:8788',
      'http://gpu-a.gpu.test',
    ]) {
      const ctx = createExecutionContext();
      const response = await worker.fetch(
        new Request(`${ORIGIN}/v1/models`, { headers: { Authorization: `Bearer ${key}` } }),
        { ...env, GPU_WORKERS: workers },
        ctx,
      );
      expect(response.status, workers).toBe(200);
    }
  });
});

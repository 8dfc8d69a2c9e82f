// Exact per-key rate limits in a Durable Object, with IETF RateLimit headers.
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { RateLimiter, RatePolicy } from '../src/durable-objects/rate-limiter.ts';
import { call, createApiKey, type ErrorBody } from './support/api.ts';

/** A limiter of its own for one test. */
const limiterStub = () => env.RATE_LIMITER.getByName(`test:${crypto.randomUUID()}`);

/** What a fresh instance of the same object decides, as after an eviction or a redeploy. */
function takeAfterRestart(stub: DurableObjectStub<RateLimiter>, policy: RatePolicy) {
  return runInDurableObject(stub, (instance, state) => {
    const Restarted = instance.constructor as typeof RateLimiter;
    return new Restarted(state, env).take(policy);
  });
}

describe('rate limits', () => {
  it('counts each request and answers 429 with Retry-After once the window is full', async () => {
    const { key } = await createApiKey({ rateLimit: { requests: 3, window_seconds: 60 } });
    const remaining: (string | null)[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await call('/v1/models', { key });
      expect(response.status).toBe(200);
      expect(response.headers.get('RateLimit-Limit')).toBe('3');
      remaining.push(response.headers.get('RateLimit-Remaining'));
    }
    expect(remaining).toEqual(['2', '1', '0']);

    const refused = await call('/v1/models', { key });
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('Retry-After'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers.get('RateLimit-Remaining')).toBe('0');
    expect(Number(refused.headers.get('RateLimit-Reset'))).toBe(retryAfter);
    expect(refused.headers.get('RateLimit-Policy')).toBe('3;w=60');
    const body = (await refused.json()) as ErrorBody;
    expect(body.error.code).toBe('rate_limited');
    expect(body.error.message).toContain('3 requests per 60 s');
  });

  it('keeps a separate count for each key', async () => {
    const busy = await createApiKey({ rateLimit: { requests: 1, window_seconds: 60 } });
    const other = await createApiKey({ rateLimit: { requests: 1, window_seconds: 60 } });
    expect((await call('/v1/models', { key: busy.key })).status).toBe(200);
    expect((await call('/v1/models', { key: busy.key })).status).toBe(429);
    expect((await call('/v1/models', { key: other.key })).status).toBe(200);
  });

  it('puts the rate limit headers on error answers too', async () => {
    const { key } = await createApiKey({ rateLimit: { requests: 5, window_seconds: 60 } });
    const response = await call('/v1/images', {
      key,
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{',
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('RateLimit-Remaining')).toBe('4');
  });

  it('stays exact under concurrent requests: of 20 at once with a limit of 7, exactly 7 pass', async () => {
    const { key } = await createApiKey({ rateLimit: { requests: 7, window_seconds: 60 } });
    const responses = await Promise.all(Array.from({ length: 20 }, () => call('/v1/models', { key })));
    const allowed = responses.filter((response) => response.status === 200);
    expect(allowed).toHaveLength(7);
    expect(responses.filter((response) => response.status === 429)).toHaveLength(13);
    const remaining = allowed.map((response) => Number(response.headers.get('RateLimit-Remaining')));
    expect(remaining.sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    await Promise.all(responses.map((response) => response.arrayBuffer()));
  });

  it('keeps counting across a restart of its Durable Object', async () => {
    const stub = limiterStub();
    const policy = { limit: 5, windowSeconds: 60 };
    for (let i = 0; i < 3; i++) expect((await stub.take(policy)).allowed).toBe(true);
    const fourth = await takeAfterRestart(stub, policy);
    expect(fourth).toMatchObject({ allowed: true, remaining: 1 });
    expect(await takeAfterRestart(stub, { ...policy, cost: 2 })).toMatchObject({ allowed: false });
  });

  it('frees the slots that left the window, in memory and in storage', async () => {
    const stub = limiterStub();
    const policy = { limit: 2, windowSeconds: 1 };
    expect((await stub.take(policy)).allowed).toBe(true);
    expect((await stub.take(policy)).allowed).toBe(true);
    expect(await stub.take(policy)).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await stub.take(policy)).toMatchObject({ allowed: true, remaining: 1 });
    const rows = await runInDurableObject(stub, (_, state) =>
      state.storage.sql.exec<{ n: number }>('SELECT count(*) AS n FROM hits').one(),
    );
    expect(rows.n).toBe(1);
  });

  it("carries over the log an object kept in the first version's key-value entry", async () => {
    const stub = limiterStub();
    const policy = { limit: 3, windowSeconds: 60 };
    expect((await stub.take(policy)).remaining).toBe(2);
    await runInDurableObject(stub, (_, state) => state.storage.kv.put('hits', [Date.now(), Date.now()]));
    expect(await takeAfterRestart(stub, policy)).toMatchObject({ allowed: false, remaining: 0 });
    const legacy = await runInDurableObject(stub, (_, state) => state.storage.kv.get('hits'));
    expect(legacy).toBeUndefined();
  });
});

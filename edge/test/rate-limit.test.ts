// Exact per-key rate limits in a Durable Object, with IETF RateLimit headers.
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { MAX_RESERVATION, type RateLimiter, type RatePolicy } from '../src/durable-objects/rate-limiter.ts';
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

/** The stored log: rows, rows dated in the future (reserved), and distinct dates (≈ writes). */
function storedRows(stub: DurableObjectStub<RateLimiter>) {
  return runInDurableObject(stub, (_, state) =>
    state.storage.sql
      .exec<{ n: number; future: number; writes: number }>(
        'SELECT count(*) AS n, count(*) FILTER (WHERE at > ?) AS future, count(DISTINCT at) AS writes FROM hits',
        Date.now(),
      )
      .one(),
  );
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

  it('frees the slots that left the window, in memory and, once its alarm has run, in storage', async () => {
    const stub = limiterStub();
    const policy = { limit: 2, windowSeconds: 1 };
    expect((await stub.take(policy)).allowed).toBe(true);
    expect((await stub.take(policy)).allowed).toBe(true);
    expect(await stub.take(policy)).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await stub.take(policy)).toMatchObject({ allowed: true, remaining: 1 });
    await runDurableObjectAlarm(stub);
    expect(await storedRows(stub)).toMatchObject({ n: 1, future: 0 });
  });

  it('writes rows ahead in reservations instead of one commit per request', async () => {
    const stub = limiterStub();
    const policy = { limit: 1000, windowSeconds: 60 };
    for (let i = 0; i < 120; i++) expect((await stub.take(policy)).remaining).toBe(999 - i);
    const stored = await storedRows(stub);
    // Reservations of 1, 2, 4, … 64 rows: seven writes for 120 requests, not 120.
    expect(stored.writes).toBeLessThanOrEqual(10);
    expect(stored.n).toBeGreaterThanOrEqual(120);
    expect(stored.n).toBeLessThan(120 + MAX_RESERVATION);
  });

  it('never forgets a request across a restart mid-reservation, and is exact again after its alarm', async () => {
    const stub = limiterStub();
    const policy = { limit: 1000, windowSeconds: 60 };
    for (let i = 0; i < 200; i++) await stub.take(policy);
    // Restarted before the alarm, unspent reserved rows count as requests: never fewer than 200.
    const early = await takeAfterRestart(stub, policy);
    expect(early.remaining).toBeLessThanOrEqual(1000 - 201);
    expect(early.remaining).toBeGreaterThan(1000 - 201 - MAX_RESERVATION);

    const exact = limiterStub();
    for (let i = 0; i < 200; i++) await exact.take(policy);
    expect(await runDurableObjectAlarm(exact)).toBe(true);
    expect(await storedRows(exact)).toMatchObject({ n: 200, future: 0 });
    expect(await takeAfterRestart(exact, policy)).toMatchObject({ allowed: true, remaining: 1000 - 201 });
  });

  it("keeps a previous run's reserved rows through the next run's alarm", async () => {
    const policy = { limit: 100, windowSeconds: 60 };
    const remaining = await runInDurableObject(limiterStub(), async (instance, state) => {
      const Restarted = instance.constructor as typeof RateLimiter;
      const first = new Restarted(state, env);
      for (let i = 0; i < 10; i++) first.take(policy);
      const second = new Restarted(state, env);
      const afterRestart = second.take(policy).remaining;
      await second.alarm();
      return { afterRestart, afterAlarm: new Restarted(state, env).take(policy).remaining };
    });
    // The first run's reservations (1 + 2 + 4 + 8 rows, 10 of them spent) count as 15 requests.
    expect(remaining).toEqual({ afterRestart: 100 - 16, afterAlarm: 100 - 17 });
  });

  it('stays exact for concurrent calls that spend a reservation still being written', async () => {
    const stub = limiterStub();
    const policy = { limit: 30, windowSeconds: 60 };
    const decisions = await Promise.all(Array.from({ length: 45 }, () => stub.take(policy)));
    expect(decisions.filter((decision) => decision.allowed)).toHaveLength(30);
    await runDurableObjectAlarm(stub);
    expect(await storedRows(stub)).toMatchObject({ n: 30, future: 0 });
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

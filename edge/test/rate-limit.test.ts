// Exact per-key rate limits in a Durable Object, with IETF RateLimit headers.
import { describe, expect, it } from 'vitest';
import { call, createApiKey, type ErrorBody } from './support/api.ts';

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
});

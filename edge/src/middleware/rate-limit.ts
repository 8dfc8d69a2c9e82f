// Per-key request limits, counted exactly by the key's RateLimiter Durable Object (busy keys
// through slots leased to the isolate: rate-limit/leased-slots.ts). Every
// authenticated answer carries RateLimit-Limit / -Remaining / -Reset (IETF draft
// "RateLimit header fields for HTTP"); over the limit → 429 with Retry-After.
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../env.ts';
import { ApiError } from '../http/api-error.ts';
import { takeSlot } from '../rate-limit/leased-slots.ts';

export const rateLimit = createMiddleware<AppEnv>(async (c, next) => {
  const key = c.var.apiKey;
  const config = c.var.config;
  const limit = key.rate_limit?.requests ?? config.RATE_LIMIT_REQUESTS;
  const windowSeconds = key.rate_limit?.window_seconds ?? config.RATE_LIMIT_WINDOW_SECONDS;
  const decision = await takeSlot(c.env.RATE_LIMITER, key.hash, { limit, windowSeconds });
  const headers = {
    'RateLimit-Limit': String(decision.limit),
    'RateLimit-Remaining': String(decision.remaining),
    'RateLimit-Reset': String(decision.resetSeconds),
    'RateLimit-Policy': `${limit};w=${windowSeconds}`,
  };
  if (!decision.allowed) {
    throw new ApiError(
      429,
      'rate_limited',
      `this key may make ${limit} requests per ${windowSeconds} s; retry in ${decision.retryAfterSeconds} s`,
      { headers: { ...headers, 'Retry-After': String(decision.retryAfterSeconds) } },
    );
  }
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
  await next();
});

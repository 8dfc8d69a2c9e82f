// Exact per-key rate limiting: one Durable Object per API key (named by the key's hash) keeps a
// sliding-window log of its requests. A Durable Object is single-threaded and strongly
// consistent, so two concurrent requests can never both take the last slot (SD-NOTES §6.5),
// unlike the Workers Rate Limiting binding, which counts per location and syncs late (§6.6).
import { DurableObject } from 'cloudflare:workers';

export interface RatePolicy {
  limit: number;
  windowSeconds: number;
  /** Slots this request takes. */
  cost?: number;
}

export interface RateDecision {
  allowed: boolean;
  limit: number;
  /** Slots left in the window after this request. */
  remaining: number;
  /** Seconds until a slot frees up (0 when one is free now). */
  resetSeconds: number;
  /** When refused: seconds until this request would be allowed. */
  retryAfterSeconds: number;
}

export class RateLimiter extends DurableObject<Env> {
  /** Times (ms) of the requests inside the window, oldest first; loaded once, then kept here. */
  private hits: number[] | undefined;

  async take({ limit, windowSeconds, cost = 1 }: RatePolicy): Promise<RateDecision> {
    const now = Date.now();
    const windowMs = windowSeconds * 1000;
    this.hits ??= (await this.ctx.storage.get<number[]>('hits')) ?? [];
    const hits = this.hits.filter((t) => t > now - windowMs);
    const secondsUntil = (t: number) => Math.max(1, Math.ceil((t - now) / 1000));

    if (hits.length + cost > limit) {
      // The request fits once enough of the oldest hits have left the window.
      const mustExpire = hits.length + cost - limit;
      const freeAt = cost > limit ? now + windowMs : hits[mustExpire - 1] + windowMs;
      this.hits = hits;
      return {
        allowed: false,
        limit,
        remaining: Math.max(0, limit - hits.length),
        resetSeconds: secondsUntil(hits[0] + windowMs),
        retryAfterSeconds: secondsUntil(freeAt),
      };
    }
    for (let i = 0; i < cost; i++) hits.push(now);
    this.hits = hits;
    await this.ctx.storage.put('hits', hits);
    const remaining = limit - hits.length;
    return {
      allowed: true,
      limit,
      remaining,
      resetSeconds: remaining > 0 ? 0 : secondsUntil(hits[0] + windowMs),
      retryAfterSeconds: 0,
    };
  }
}

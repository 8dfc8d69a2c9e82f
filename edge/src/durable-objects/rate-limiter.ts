// Exact per-key rate limiting: one Durable Object per API key (named by the key's hash) keeps a
// sliding-window log of its requests. A Durable Object is single-threaded and strongly
// consistent, so two concurrent requests can never both take the last slot (SD-NOTES §6.5),
// unlike the Workers Rate Limiting binding, which counts per location and syncs late (§6.6).
//
// The log is a SQLite table, one row per slot taken, indexed by time, mirrored by an array in
// memory that makes the decisions. `take` never awaits, so requests are decided strictly one
// after another, and a request writes only its own row (and deletes the rows that left the
// window) instead of rewriting the whole log. Nothing waits for those writes here, yet an
// allowed request is always on disk before anyone hears of it: the runtime's output gate holds
// every reply of a Durable Object until the writes made before it are durable (Cloudflare,
// "Durable Objects: Easy, Fast, Correct — Choose three", 2021). So an object restarted for any
// reason (evicted when idle, redeployed, moved) reads back every slot it gave out.
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
  /** Times (ms) of the slots taken that may still be inside the window, oldest first. */
  private readonly hits: number[];

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    sql.exec('CREATE TABLE IF NOT EXISTS hits (at INTEGER NOT NULL)');
    sql.exec('CREATE INDEX IF NOT EXISTS hits_by_time ON hits (at)');
    // The first version kept the whole log as one key-value entry: carried over once.
    const legacy = ctx.storage.kv.get<number[]>('hits');
    if (legacy) {
      for (const at of legacy) sql.exec('INSERT INTO hits (at) VALUES (?)', at);
      ctx.storage.kv.delete('hits');
    }
    this.hits = sql
      .exec<{ at: number }>('SELECT at FROM hits ORDER BY at')
      .toArray()
      .map((row) => row.at);
  }

  take({ limit, windowSeconds, cost = 1 }: RatePolicy): RateDecision {
    const now = Date.now();
    const windowMs = windowSeconds * 1000;
    this.forgetUntil(now - windowMs);
    const hits = this.hits;
    const secondsUntil = (t: number) => Math.max(1, Math.ceil((t - now) / 1000));

    if (hits.length + cost > limit) {
      // The request fits once enough of the oldest hits have left the window.
      const mustExpire = hits.length + cost - limit;
      const freeAt = cost > limit ? now + windowMs : hits[mustExpire - 1] + windowMs;
      return {
        allowed: false,
        limit,
        remaining: Math.max(0, limit - hits.length),
        resetSeconds: hits.length > 0 ? secondsUntil(hits[0] + windowMs) : 0,
        retryAfterSeconds: secondsUntil(freeAt),
      };
    }
    for (let i = 0; i < cost; i++) {
      hits.push(now);
      this.ctx.storage.sql.exec('INSERT INTO hits (at) VALUES (?)', now);
    }
    const remaining = limit - hits.length;
    return {
      allowed: true,
      limit,
      remaining,
      resetSeconds: remaining > 0 ? 0 : secondsUntil(hits[0] + windowMs),
      retryAfterSeconds: 0,
    };
  }

  /** Drops the hits at or before `cutoff`, which have left the window, from memory and storage. */
  private forgetUntil(cutoff: number): void {
    let expired = 0;
    while (expired < this.hits.length && this.hits[expired] <= cutoff) expired++;
    if (expired === 0) return;
    this.hits.splice(0, expired);
    this.ctx.storage.sql.exec('DELETE FROM hits WHERE at <= ?', cutoff);
  }
}

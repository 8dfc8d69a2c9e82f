// Exact per-key rate limiting: one Durable Object per API key (named by the key's hash) keeps a
// sliding-window log of its requests. A Durable Object is single-threaded and strongly
// consistent, so two concurrent requests can never both take the last slot (SD-NOTES §6.5),
// unlike the Workers Rate Limiting binding, which counts per location and syncs late (§6.6).
//
// Decisions are made from a log in memory; `take` never awaits, so requests are decided strictly
// one after another. The log also lives in SQLite, so that an object restarted for any reason
// (evicted, redeployed, moved) goes on counting, and that copy may over-count but never
// under-count: no restart can hand out a slot twice.
//
// Writing a row per request would make every answer wait for a commit, because the runtime's
// output gate holds an object's replies until the writes made before them are durable (Cloudflare,
// "Durable Objects: Easy, Fast, Correct — Choose three", 2021). Instead a request that finds no
// reservation writes several rows ahead, dated the end of a short lease: a row dated at or after
// a request stands for it safely, since it leaves the window no earlier. The requests that follow
// within the lease spend those rows and write nothing; while the reservation is still being
// committed, the output gate holds their replies too. The reservation doubles while requests
// use it up and shrinks when they don't. When the last lease ends, an alarm rewrites the
// reserved rows as the exact times of the requests that spent them and drops what left the
// window, so the stored log is exact again. Only a crash within a lease leaves unspent rows
// behind, which count as requests until they leave the window: at most the last reservation
// (MAX_RESERVATION, and an eighth of the limit).
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

/** How long a reservation may be spent, and how long the stored log may differ from memory. */
export const LEASE_MS = 1_000;
/** The most rows one reservation writes ahead. */
export const MAX_RESERVATION = 64;

interface Reservation {
  /** The date of its rows: the last moment a request may spend one. */
  until: number;
  left: number;
  spent: number;
}

export class RateLimiter extends DurableObject<Env> {
  /** Times (ms) of the slots taken that may still be inside the window, oldest first. */
  private readonly hits: number[];
  /** How many hits at the end of `hits` are stored only as reserved rows. */
  private unreconciled = 0;
  /** Stored rows dated after this are reservations; rows at or before it are exact. */
  private reconciledAt: number;
  private reservation: Reservation = { until: 0, left: 0, spent: 0 };
  /** The window of the last policy seen, kept for the alarm's clean-up. */
  private windowMs: number | undefined;

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
    // Rows dated in the future are a previous run's reservations, spent or not. Dated now they
    // still leave the window no earlier than any request they stood for, and are exact from here on.
    const now = Date.now();
    sql.exec('UPDATE hits SET at = ? WHERE at > ?', now, now);
    this.reconciledAt = now;
    this.windowMs = ctx.storage.kv.get<number>('window_ms');
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
    const reservation = this.reservation;
    if (reservation.left < cost || now > reservation.until) {
      this.reserve(now, windowMs, cost, limit);
    }
    this.reservation.left -= cost;
    this.reservation.spent += cost;
    for (let i = 0; i < cost; i++) hits.push(now);
    this.unreconciled += cost;
    const remaining = limit - hits.length;
    return {
      allowed: true,
      limit,
      remaining,
      resetSeconds: remaining > 0 ? 0 : secondsUntil(hits[0] + windowMs),
      retryAfterSeconds: 0,
    };
  }

  /** Rewrites the reserved rows as the exact hits they stood for, and drops the expired ones. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const sql = this.ctx.storage.sql;
    if (this.windowMs !== undefined) this.forgetUntil(now - this.windowMs);
    sql.exec('DELETE FROM hits WHERE at > ?', this.reconciledAt);
    if (this.windowMs !== undefined) sql.exec('DELETE FROM hits WHERE at <= ?', now - this.windowMs);
    for (const at of this.hits.slice(this.hits.length - this.unreconciled)) {
      sql.exec('INSERT INTO hits (at) VALUES (?)', at);
    }
    this.unreconciled = 0;
    this.reconciledAt = now;
    // Its rows are gone: whatever it had left cannot be spent.
    this.reservation = { until: 0, left: 0, spent: 0 };
  }

  /**
   * Writes rows ahead for this request and the ones after it: twice what the last reservation
   * had spent, within the slots still free and the caps that bound a crash's over-count.
   */
  private reserve(now: number, windowMs: number, cost: number, limit: number): void {
    const free = limit - this.hits.length;
    const cap = Math.min(MAX_RESERVATION, Math.floor(limit / 8));
    const size = Math.min(free, Math.max(cost, Math.min(cap, 2 * this.reservation.spent)));
    const until = now + LEASE_MS;
    const sql = this.ctx.storage.sql;
    for (let i = 0; i < size; i++) sql.exec('INSERT INTO hits (at) VALUES (?)', until);
    if (windowMs !== this.windowMs) {
      this.windowMs = windowMs;
      this.ctx.storage.kv.put('window_ms', windowMs);
    }
    void this.ctx.storage.setAlarm(until);
    this.reservation = { until, left: size, spent: 0 };
  }

  /** Drops the hits at or before `cutoff`, which have left the window, from memory. */
  private forgetUntil(cutoff: number): void {
    let expired = 0;
    while (expired < this.hits.length && this.hits[expired] <= cutoff) expired++;
    if (expired === 0) return;
    this.hits.splice(0, expired);
    this.unreconciled = Math.min(this.unreconciled, this.hits.length);
  }
}
